-- grain: one row per local day × collège × profile × service
-- incremental: by local_day
with

page_views as (
    select local_day, uai, profile, service, visitor_key, visit_started_at
    from intermediate.int_page_views__sessionised
),

archived_days as (
    select local_day from intermediate.int_archive__complete_days
),

archived as (
    select local_day, uai, profile, service, page_views, visits, visitors
    from staging.stg_archive__daily_usage
    where local_day in (select local_day from archived_days)
),

visits_in_groups as (
    -- a visit is its visitor and its start: each one once per group it touches, with its page views there
    select local_day, uai, profile, service, visitor_key, visit_started_at, count(*) as page_views
    from page_views
    group by local_day, uai, profile, service, visitor_key, visit_started_at
),

daily_usage as (
    select
        local_day,
        uai,
        profile,
        service,
        sum(page_views)::bigint as page_views,
        count(*) as visits,
        count(distinct visitor_key) as visitors
    from visits_in_groups
    group by local_day, uai, profile, service
),

all_days as (
    select * from daily_usage
    union all
    select * from archived
)

select
    local_day,
    uai,
    profile,
    service,
    page_views,
    visits,
    visitors
from all_days
