-- grain: one row per day × collège × device type × recipient type × transfer, from its first device on
with

devices as (
    select uai, device_type, recipient_type, transfer, start_date, end_date
    from intermediate.int_loans__deduplicated
),

movements as (
    select uai, device_type, recipient_type, transfer, start_date as day, 1 as provided, 0 as returned
    from devices
    union all
    select uai, device_type, recipient_type, transfer, end_date as day, 0 as provided, 1 as returned
    from devices
    where end_date is not null
),

daily_movements as (
    select uai, device_type, recipient_type, transfer, day, sum(provided) as provided, sum(returned) as returned
    from movements
    group by uai, device_type, recipient_type, transfer, day
),

calendar as (
    select cast(unnest(generate_series(min(day), max(day), interval 1 day)) as date) as day
    from movements
),

kinds as (
    select distinct uai, device_type, recipient_type, transfer from devices
),

grid as (
    select calendar.day, kinds.uai, kinds.device_type, kinds.recipient_type, kinds.transfer
    from calendar
    cross join kinds
),

cumulated as (
    -- in service at a day's end: provided on or before it, not returned on or before it
    select
        grid.*,
        coalesce(daily_movements.provided, 0) as devices_provided,
        coalesce(daily_movements.returned, 0) as devices_returned,
        sum(coalesce(daily_movements.provided, 0)) over kind_days as provided_so_far,
        sum(coalesce(daily_movements.provided, 0) - coalesce(daily_movements.returned, 0)) over kind_days
            as devices_in_service
    from grid
    left join daily_movements
        on daily_movements.day = grid.day
        and daily_movements.uai is not distinct from grid.uai
        and daily_movements.device_type is not distinct from grid.device_type
        and daily_movements.recipient_type is not distinct from grid.recipient_type
        and daily_movements.transfer is not distinct from grid.transfer
    window kind_days as (
        partition by grid.uai, grid.device_type, grid.recipient_type, grid.transfer
        order by grid.day
        rows unbounded preceding
    )
)

select
    day,
    uai,
    device_type,
    recipient_type,
    transfer,
    cast(devices_provided as bigint) as devices_provided,
    cast(devices_returned as bigint) as devices_returned,
    cast(devices_in_service as bigint) as devices_in_service
from cumulated
where provided_so_far > 0
