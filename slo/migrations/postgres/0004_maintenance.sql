-- Maintenance windows created through the controller's API (slo/src/maintenance.rs). A window
-- covers a service, or one journey or one SLO of it; it is never deleted, only ended (`ends_at`
-- set to the moment it was ended) so the record stays. Times are Unix milliseconds (UTC).
create table slo_maintenance (
    slo_maintenance_id bigint generated always as identity primary key,
    service text not null,
    journey text,
    slo text,
    starts_at bigint not null,
    ends_at bigint not null,
    reason text not null,
    author text not null,
    created_at bigint not null,
    updated_at bigint not null
);

create index slo_maintenance_ends_at on slo_maintenance (ends_at);
