-- grain: one row per rejected CSV row
with

csv_rejects as (
    select kind, source_file, line_number, reason, text from staging.stg_ingestion__csv_rejects
)

select
    kind,
    source_file,
    line_number,
    reason,
    text
from csv_rejects
