-- The embedded scraper (slo::source::scrape): per-SLO good/total event counts in one-minute
-- buckets, merged into one-hour buckets once older than 48 hours, and the last raw value of
-- every counter series it keeps, so that a restart resumes from it. Times are Unix seconds.

create table sli_minute (
    service text not null,
    slo text not null,
    -- the minute's start
    minute bigint not null,
    -- good may dip below zero in one bucket (a bad count scraped ahead of its total); sums are exact
    good bigint not null,
    total bigint not null,
    primary key (service, slo, minute)
);

create index sli_minute_minute on sli_minute (minute);

create table sli_hour (
    service text not null,
    slo text not null,
    -- the hour's start
    hour bigint not null,
    good bigint not null,
    total bigint not null,
    -- how many minute buckets were merged into it
    minutes bigint not null,
    primary key (service, slo, hour)
);

create index sli_hour_hour on sli_hour (hour);

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
    scraped_at bigint not null,
    primary key (target, series)
);
