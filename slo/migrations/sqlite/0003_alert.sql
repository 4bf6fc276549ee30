-- Alerting (slo/src/alert.rs): the state of every alert, the silences, and the transactional
-- outbox of notifications. Times are Unix milliseconds (UTC) on both engines.

-- One row per (service, SLO, tier), and per SLO for its no-data alert (tier `no-data`).
-- alert_key is the stable dedup key: the first 32 hex digits of sha256("service/slo/tier").
create table slo_alert (
    alert_key text primary key,
    service text not null,
    journey text not null,
    slo text not null,
    tier text not null,
    -- page | ticket
    severity text not null,
    long_window text not null,
    short_window text not null,
    -- inactive | pending | firing | resolved
    state text not null,
    pending_since bigint,
    firing_since bigint,
    resolved_at bigint,
    -- the last trigger put in the outbox (null: receivers have not been told it fires)
    notified_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);

create index slo_alert_state on slo_alert (state);

-- Matchers are a JSON array of {"name", "value"}, all of which must equal the alert's labels.
create table slo_silence (
    slo_silence_id integer primary key autoincrement,
    matchers text not null,
    starts_at bigint not null,
    ends_at bigint not null,
    author text not null,
    comment text not null,
    created_at bigint not null,
    updated_at bigint not null
);

create index slo_silence_ends_at on slo_silence (ends_at);

-- One row per notification per receiver, written in the transaction that changed the alert;
-- delivered_at is set only after the receiver answered 2xx.
create table slo_outbox (
    slo_outbox_id integer primary key autoincrement,
    alert_key text not null,
    receiver text not null,
    -- trigger | resolve
    event text not null,
    -- JSON of alert::Notification
    payload text not null,
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    last_error text,
    delivered_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);

create index slo_outbox_pending on slo_outbox (delivered_at, slo_outbox_id);
