-- The controller's evaluation history: one row per SLO per evaluation cycle. Rows older than
-- 48 hours are downsampled to one per SLO per 10 minutes and dropped after 100 days
-- (slo/src/controller/history.rs). Times are Unix milliseconds (UTC) on both engines.
create table slo_evaluation (
    slo_evaluation_id bigint generated always as identity primary key,
    service text not null,
    journey text not null,
    slo text not null,
    evaluated_at bigint not null,
    status text not null,
    reason text,
    sli double precision,
    budget_remaining double precision,
    budget_consumed double precision,
    time_to_exhaustion_seconds double precision,
    -- JSON array of eval::TierBurn.
    burn_rates text not null,
    in_maintenance bigint not null default 0,
    -- The controller instance that wrote the row (active/standby: only the leader writes).
    controller text not null,
    created_at bigint not null
);

create index slo_evaluation_slo_time on slo_evaluation (service, slo, evaluated_at);
create index slo_evaluation_time on slo_evaluation (evaluated_at);
