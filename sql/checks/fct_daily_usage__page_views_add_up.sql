-- page views of a day, counted four ways: by service, per visit, per visitor and per hour
-- (an archived day keeps only its daily and hourly figures)
with

by_service as (
    select local_day, sum(page_views) as page_views from marts.fct_daily_usage group by local_day
),

per_visit as (
    select local_day, sum(page_views) as page_views from marts.fct_visits group by local_day
),

per_visitor as (
    select local_day, sum(page_views) as page_views from marts.fct_visitor_days group by local_day
),

per_hour as (
    select local_day, sum(page_views) as page_views from marts.fct_hourly_usage group by local_day
),

archived_days as (
    select local_day from intermediate.int_archive__complete_days
),

days as (
    select local_day from by_service
    union
    select local_day from per_visit
    union
    select local_day from per_visitor
    union
    select local_day from per_hour
),

compared as (
    select
        days.local_day,
        archived_days.local_day is not null as archived,
        coalesce(by_service.page_views, 0) as by_service,
        coalesce(per_visit.page_views, 0) as per_visit,
        coalesce(per_visitor.page_views, 0) as per_visitor,
        coalesce(per_hour.page_views, 0) as per_hour
    from days
    left join by_service on by_service.local_day = days.local_day
    left join per_visit on per_visit.local_day = days.local_day
    left join per_visitor on per_visitor.local_day = days.local_day
    left join per_hour on per_hour.local_day = days.local_day
    left join archived_days on archived_days.local_day = days.local_day
)

select local_day, archived, by_service, per_visit, per_visitor, per_hour
from compared
where by_service <> per_hour
    or (not archived and (by_service <> per_visit or by_service <> per_visitor))
    or (archived and (per_visit > 0 or per_visitor > 0))
