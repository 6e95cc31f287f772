-- grain: one row per local day × hour of the local wall clock
-- incremental: by local_day
with

page_views as (
    select local_day, local_ts, is_visit_start
    from intermediate.int_page_views__sessionised
),

archived_days as (
    select local_day from intermediate.int_archive__complete_days
),

archived as (
    select local_day, hour, page_views, visits_started
    from staging.stg_archive__hourly_usage
    where local_day in (select local_day from archived_days)
),

hourly_usage as (
    select
        local_day,
        hour(local_ts) as hour,
        count(*) as page_views,
        count(*) filter (where is_visit_start) as visits_started
    from page_views
    group by local_day, hour(local_ts)
),

all_days as (
    select * from hourly_usage
    union all
    select * from archived
)

select
    local_day,
    hour,
    page_views,
    visits_started
from all_days
