-- grain: one row per archived local day × hour
with

archived as (
    select * from raw.archive_hourly_usage
)

select
    local_day,
    hour,
    page_views,
    visits_started
from archived
