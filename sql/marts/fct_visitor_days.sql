-- grain: one row per visitor × local day
-- incremental: by local_day
with

page_views as (
    select local_day, visitor_key, profile, uai, is_visit_start
    from intermediate.int_page_views__sessionised
),

visitor_days as (
    select
        local_day,
        visitor_key,
        any_value(profile) as profile,
        any_value(uai) as uai,
        -- a visit lies within one day, so its start is counted once, on that day
        count(*) filter (where is_visit_start) as visits,
        count(*) as page_views
    from page_views
    group by local_day, visitor_key
)

select
    local_day,
    visitor_key,
    profile,
    uai,
    visits,
    page_views
from visitor_days
