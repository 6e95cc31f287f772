-- on the last day every need is identified, and covered when its pupil received a device
with

last_day as (
    select day, sum(needs_identified) as identified, sum(needs_covered) as covered
    from marts.fct_coverage_days
    where day = (select max(day) from marts.fct_coverage_days)
    group by day
),

needs as (
    select count(*) as identified, count(first_equipped_on) as covered from marts.fct_needs
)

select
    needs.identified,
    needs.covered,
    coalesce(last_day.identified, 0) as identified_by_day,
    coalesce(last_day.covered, 0) as covered_by_day
from needs
left join last_day on true
where needs.identified <> coalesce(last_day.identified, 0) or needs.covered <> coalesce(last_day.covered, 0)
