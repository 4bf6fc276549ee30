-- The embedded scraper (slo::source::scrape): per-SLO good/total event counts in one-minute
-- and one-hour buckets (every scrape adds to both; minute buckets are dropped after 48 hours),
-- and the last raw value of every counter series it keeps, so that a restart resumes from it.
-- Times are Unix seconds. Keys lead with the time: reads and compaction select by time range.

create table sli_minute (
    -- the minute's start
    minute bigint not null,
    service text not null,
    slo text not null,
    -- good may dip below zero in one bucket (a bad count scraped ahead of its total); sums are exact
    good bigint not null,
    total bigint not null,
    primary key (minute, service, slo)
) without rowid;

create table sli_hour (
    -- the hour's start
    hour bigint not null,
    service text not null,
    slo text not null,
    good bigint not null,
    total bigint not null,
    primary key (hour, service, slo)
) without rowid;

-- When the scraper first counted events for an SLO (a range before it is answered with what exists).
create table sli_since (
    service text not null,
    slo text not null,
    since bigint not null,
    primary key (service, slo)
);

create table scrape_series (
    target text not null,
    -- the series' name and labels, canonical
    series text not null,
    value double precision not null,
    -- Unix milliseconds
    scraped_at bigint not null,
    primary key (target, series)
);
