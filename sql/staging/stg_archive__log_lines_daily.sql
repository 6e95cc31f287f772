-- grain: one row per archived local day (or undated log file) × outcome × reason
with

archived as (
    select * from raw.archive_log_lines_daily
)

select
    local_day,
    outcome,
    reason,
    lines
from archived
