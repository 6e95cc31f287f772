-- grain: one row per collaborative space × local day
-- incremental: by local_day
with

page_views as (
    select space_id, local_day, visitor_key
    from intermediate.int_page_views__sessionised
    where space_id is not null
),

archived_days as (
    select local_day from intermediate.int_archive__complete_days
),

archived as (
    select space_id, local_day, page_views, visitors
    from staging.stg_archive__space_days
    where local_day in (select local_day from archived_days)
),

space_days as (
    select
        space_id,
        local_day,
        count(*) as page_views,
        count(distinct visitor_key) as visitors
    from page_views
    group by space_id, local_day
),

all_days as (
    select * from space_days
    union all
    select * from archived
)

select
    space_id,
    local_day,
    page_views,
    visitors
from all_days
