-- grain: one row per day × collège, from the collège's first identified need to the last event
with

needs as (
    select uai, identified_on, covered_on
    from intermediate.int_needs__equipped
),

events as (
    select uai, identified_on as day, 1 as identified, 0 as covered from needs
    union all
    select uai, covered_on as day, 0 as identified, 1 as covered from needs where covered_on is not null
),

daily_events as (
    select uai, day, sum(identified) as identified, sum(covered) as covered
    from events
    group by uai, day
),

calendar as (
    select cast(unnest(generate_series(min(day), max(day), interval 1 day)) as date) as day
    from events
),

colleges as (
    select distinct uai from needs
),

grid as (
    select calendar.day, colleges.uai
    from calendar
    cross join colleges
),

cumulated as (
    select
        grid.day,
        grid.uai,
        sum(coalesce(daily_events.identified, 0)) over college_days as needs_identified,
        sum(coalesce(daily_events.covered, 0)) over college_days as needs_covered
    from grid
    left join daily_events
        on daily_events.day = grid.day and daily_events.uai is not distinct from grid.uai
    window college_days as (partition by grid.uai order by grid.day rows unbounded preceding)
)

select
    day,
    uai,
    cast(needs_identified as bigint) as needs_identified,
    cast(needs_covered as bigint) as needs_covered,
    needs_covered / needs_identified as coverage_rate
from cumulated
where needs_identified > 0
