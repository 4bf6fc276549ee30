-- A decision's findings (every SLO it read, with budget and burn rates: tens of kilobytes for a
-- service with hundreds of SLOs) are stored once per distinct content in `slo_gate_findings`,
-- keyed by the SHA-256 of the JSON (hex), and shared by every decision made from the same
-- evaluation: a burst of deploys writes them once instead of once per deploy.
create table slo_gate_findings (
    digest text primary key,
    slos text not null
);

-- The findings of a decision stored from now on; a decision stored before keeps its findings
-- in `inputs`, and has none here.
alter table slo_gate_decision add column findings_digest text;

-- When a deploy (service, environment, sha) was first decided, read by every decision (the
-- hold deadline counts from it), answered from the index alone.
create index slo_gate_decision_first_seen on slo_gate_decision (service, environment, sha, created_at);
drop index slo_gate_decision_deploy;
