-- grain: one row per rejected access log line
-- incremental: by local_day (undated rejects are the rows without one)
with

log_rejects as (
    select * from raw.log_rejects
)

select
    file_id,
    source_file,
    line_number,
    local_day,
    reason,
    text
from log_rejects
