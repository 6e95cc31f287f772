-- grain: one row per archive file written by retention
with

archive_files as (
    select * from raw.archive_files
)

select
    mart,
    file_name,
    -- `day=YYYY-MM-DD.parquet` holds a day's rows, `undated-<file_id>.parquet` a log file's undated rejects
    try_cast(regexp_extract(file_name, '^day=(\d{4}-\d{2}-\d{2})\.parquet$', 1) as date) as local_day,
    nullif(regexp_extract(file_name, '^undated-(.+)\.parquet$', 1), '') as undated_file_id
from archive_files
