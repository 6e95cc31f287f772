-- grain: one row per accepted directory row of each export
with

directory as (
    select * from raw.directory
)

select
    file_id,
    source_file,
    line_number,
    user_key,
    lower(trim(profile)) as profile,
    upper(trim(uai)) as uai
from directory
