-- grain: one row per accepted need row of each export
with

needs as (
    select * from raw.needs
)

select
    file_id,
    source_file,
    line_number,
    need_id,
    pupil_key,
    upper(trim(uai)) as uai,
    criterion,
    identified_on
from needs
