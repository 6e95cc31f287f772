-- grain: one row per accepted collège row of each reference file
with

colleges as (
    select * from raw.colleges
)

select
    file_id,
    source_file,
    line_number,
    upper(trim(uai)) as uai,
    name,
    commune,
    commune_insee,
    sector,
    nullif(trim(education_priority), '') as education_priority,
    students,
    has_ulis,
    ips,
    latitude,
    longitude
from colleges
