-- grain: one row per archived local day × collège × profile × service
with

archived as (
    select * from raw.archive_daily_usage
)

select
    local_day,
    uai,
    profile,
    service,
    page_views,
    visits,
    visitors
from archived
