-- grain: one row per rejected CSV row
with

csv_rejects as (
    select * from raw.csv_rejects
)

select
    file_id,
    source_file,
    kind,
    line_number,
    reason,
    text
from csv_rejects
