-- grain: one row per visit
-- incremental: by local_day (a visit lies within its day)
with

page_views as (
    select visitor_key, visit_started_at, profile, uai, local_day, ts_utc, local_ts
    from intermediate.int_page_views__sessionised
),

visits as (
    select
        visitor_key,
        visit_started_at as started_at,
        any_value(profile) as profile,
        any_value(uai) as uai,
        any_value(local_day) as local_day,
        -- the wall time of the first page view (wall times repeat on the autumn DST night)
        arg_min(local_ts, ts_utc) as started_at_local,
        max(ts_utc) as ended_at,
        count(*) as page_views
    from page_views
    group by visitor_key, visit_started_at
)

select
    -- a visitor starts at most one visit at a given instant
    md5(visitor_key || '|' || epoch_us(started_at)) as visit_id,
    visitor_key,
    profile,
    uai,
    local_day,
    started_at,
    started_at_local,
    ended_at,
    page_views
from visits
