-- The deploy gate (slo/src/gate.rs, slo/src/github.rs). Times are Unix milliseconds (UTC).
--
-- Every decision the gate made, with what it was asked (`inputs`, JSON: the deploy, the
-- findings), its reasons (JSON) and, for GitHub, how its delivery went.
create table slo_gate_decision (
    slo_gate_decision_id bigint generated always as identity primary key,
    service text not null,
    environment text not null,
    sha text not null,
    git_ref text,
    -- `api` (slo gate), `protection-rule`, `commit-status`.
    origin text not null,
    verdict text not null,
    would_have text not null,
    shadow bigint not null,
    exception text,
    slo_gate_override_id bigint,
    reasons text not null,
    inputs text not null,
    -- GitHub delivery: `none`, `pending`, `delivered`, `failed` (with `delivery_error`).
    delivery text not null,
    delivery_error text,
    created_at bigint not null,
    updated_at bigint not null
);

create index slo_gate_decision_deploy on slo_gate_decision (service, environment, sha);
create index slo_gate_decision_created_at on slo_gate_decision (created_at);

-- Break-glass overrides: created by one person, approved by another, scoped to a service, an
-- environment and a sha (or any sha in the time range), expiring at `ends_at`.
create table slo_gate_override (
    slo_gate_override_id bigint generated always as identity primary key,
    service text not null,
    environment text not null,
    sha text,
    starts_at bigint not null,
    ends_at bigint not null,
    reason text not null,
    initiator text not null,
    approver text,
    approved_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);

create index slo_gate_override_scope on slo_gate_override (service, environment, ends_at);

-- GitHub webhook deliveries, stored before the 202 and worked off by the controller's worker
-- (slo/src/github/worker.rs); `delivery_id` is X-GitHub-Delivery, so a redelivery is a no-op.
-- `state`: `pending` (due at `next_attempt_at`; a claimed row is leased by moving it forward),
-- `done`, `ignored`, `failed`.
create table slo_github_delivery (
    delivery_id text primary key,
    event text not null,
    payload text not null,
    state text not null,
    attempts bigint not null,
    next_attempt_at bigint not null,
    status_reports bigint not null,
    slo_gate_decision_id bigint,
    last_error text,
    received_at bigint not null,
    updated_at bigint not null
);

create index slo_github_delivery_due on slo_github_delivery (state, next_attempt_at);

-- One review per protection-rule run and environment, whatever the number of deliveries: the
-- key is claimed before the review call, so a redelivery or a re-run never reviews twice.
create table slo_github_review (
    review_key text primary key,
    slo_gate_decision_id bigint not null,
    state text not null,
    created_at bigint not null,
    updated_at bigint not null
);

-- Deployments that went out and are watched for a page-level burn (post-deploy verification).
create table slo_gate_verification (
    slo_gate_verification_id bigint generated always as identity primary key,
    service text not null,
    environment text not null,
    sha text not null,
    git_ref text,
    repository text not null,
    installation_id bigint not null,
    deployment_id bigint not null,
    previous_sha text,
    watch_until bigint not null,
    -- `watching`, `passed`, `failed`.
    state text not null,
    created_at bigint not null,
    updated_at bigint not null
);

create index slo_gate_verification_state on slo_gate_verification (state, watch_until);
