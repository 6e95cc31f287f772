-- grain: one row per page view
-- incremental: by local_day (visits split at midnight: a day's visits need only that day's lines)
with

access_log as (
    select file_id, line_number, ts_utc, local_ts, local_day, visitor_key, user_key, method, path, status, user_agent
    from staging.stg_proxy__access_log
),

directory as (
    select user_key, profile, uai from intermediate.int_directory__deduplicated
),

services as (
    select segment, service from staging.stg_seeds__services
),

archived_days as (
    select local_day from intermediate.int_archive__complete_days
),

page_views as (
    select *
    from access_log
    -- an archived day keeps its archived figures, even if detail for it comes back
    where local_day not in (select local_day from archived_days)
        and method = 'GET'
        and (status between 200 and 299 or status = 304)
        and not starts_with(path, '/api/')
        and not starts_with(path, '/static/')
        and not regexp_matches(path, '\.(?i:css|js|mjs|map|png|jpg|jpeg|gif|svg|ico|webp|woff|woff2|ttf|eot|otf)$')
        -- robots: `bot|crawl|spider|slurp` in any case; four substring tests cost a third of that regex
        and not coalesce(
            user_agent ilike '%bot%' or user_agent ilike '%crawl%'
            or user_agent ilike '%spider%' or user_agent ilike '%slurp%',
            false
        )
),

enriched as (
    select
        page_views.file_id,
        page_views.line_number,
        page_views.ts_utc,
        page_views.local_ts,
        page_views.local_day,
        page_views.visitor_key,
        -- profile and collège are joined after the window passes: one flag sorted instead of two texts
        page_views.user_key is not null as has_login,
        coalesce(services.service, 'Autre') as service,
        nullif(regexp_extract(page_views.path, '^/espaces/([A-Za-z0-9_-]+)(/|$)', 1), '') as space_id
    from page_views
    left join services
        on starts_with(page_views.path, '/')
        and services.segment = lower(split_part(page_views.path, '/', 2))
),

gaps as (
    -- visits split at midnight, so each visitor's local day is a timeline of its own: smaller sorts
    select
        *,
        epoch_us(ts_utc) - epoch_us(lag(ts_utc) over visitor_day_timeline) as micros_since_previous
    from enriched
    window visitor_day_timeline as (partition by visitor_key, local_day order by ts_utc, file_id, line_number)
),

starts as (
    -- real (UTC) time, so the DST jump is no pause; exactly the timeout stays in the visit
    select
        * exclude (micros_since_previous),
        micros_since_previous is null
            or micros_since_previous > getvariable('visit_timeout_minutes') * 60 * 1000000::bigint
            as is_visit_start
    from gaps
),

sessionised as (
    select
        *,
        max(ts_utc) filter (where is_visit_start) over (
            partition by visitor_key, local_day
            order by ts_utc, file_id, line_number
            rows between unbounded preceding and current row
        ) as visit_started_at
    from starts
)

select
    sessionised.file_id,
    sessionised.line_number,
    sessionised.ts_utc,
    sessionised.local_ts,
    sessionised.local_day,
    sessionised.visitor_key,
    case when sessionised.has_login then coalesce(directory.profile, 'inconnu') else 'anonyme' end as profile,
    directory.uai,
    sessionised.service,
    sessionised.space_id,
    -- a visit is identified by its visitor and its first instant
    sessionised.visit_started_at,
    sessionised.is_visit_start
from sessionised
-- a logged-in visitor's key is their login's key
left join directory on sessionised.has_login and directory.user_key = sessionised.visitor_key
