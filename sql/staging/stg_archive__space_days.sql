-- grain: one row per archived collaborative space × local day
with

archived as (
    select * from raw.archive_space_days
)

select
    space_id,
    local_day,
    page_views,
    visitors
from archived
