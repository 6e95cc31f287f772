-- every device is provided once, and on the last day the stock matches the devices still out
with

totals as (
    select sum(devices_provided) as provided, max(day) as last_day from marts.fct_device_days
),

last_day_stock as (
    select sum(devices_in_service) as in_service
    from marts.fct_device_days
    where day = (select last_day from totals)
),

devices as (
    select
        count(*) as provided,
        count(*) filter (
            where start_date <= (select last_day from totals)
                and (end_date is null or end_date > (select last_day from totals))
        ) as in_service
    from marts.fct_devices
)

select
    devices.provided as devices,
    coalesce(totals.provided, 0) as provided_by_day,
    devices.in_service as in_service,
    coalesce(last_day_stock.in_service, 0) as in_service_by_day
from devices, totals, last_day_stock
where devices.provided <> coalesce(totals.provided, 0)
    or devices.in_service <> coalesce(last_day_stock.in_service, 0)
