-- visits of a day, counted three ways: per visit, per visitor and per hour (archived days: only per hour)
with

per_visit as (
    select local_day, count(*) as visits from marts.fct_visits group by local_day
),

per_visitor as (
    select local_day, sum(visits) as visits from marts.fct_visitor_days group by local_day
),

per_hour as (
    select local_day, sum(visits_started) as visits
    from marts.fct_hourly_usage
    where local_day not in (select local_day from intermediate.int_archive__complete_days)
    group by local_day
),

compared as (
    select
        coalesce(per_visit.local_day, per_visitor.local_day, per_hour.local_day) as local_day,
        coalesce(per_visit.visits, 0) as visits_per_visit,
        coalesce(per_visitor.visits, 0) as visits_per_visitor,
        coalesce(per_hour.visits, 0) as visits_per_hour
    from per_visit
    full join per_visitor on per_visitor.local_day = per_visit.local_day
    full join per_hour on per_hour.local_day = coalesce(per_visit.local_day, per_visitor.local_day)
)

select local_day, visits_per_visit, visits_per_visitor, visits_per_hour
from compared
where visits_per_visit <> visits_per_visitor or visits_per_visit <> visits_per_hour
