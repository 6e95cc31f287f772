-- grain: one row per collège
with

colleges as (
    select uai, name, commune, commune_insee, sector, education_priority, students, has_ulis, ips, latitude, longitude
    from intermediate.int_colleges__deduplicated
)

select
    uai,
    name,
    commune,
    commune_insee,
    sector,
    education_priority,
    students,
    has_ulis,
    latitude,
    longitude,
    ips
from colleges
