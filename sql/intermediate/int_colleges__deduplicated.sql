-- grain: one row per collège (uai), from the latest reference file that holds it
with

colleges as (
    select * from staging.stg_reference__colleges
),

files as (
    select file_id, last_name, last_seen_at from intermediate.int_files__named
),

ranked as (
    -- the file whose name sorts last wins; the same name ingested twice: the later content wins
    select
        colleges.*,
        row_number() over (
            partition by colleges.uai
            order by
                coalesce(files.last_name, colleges.source_file) desc,
                files.last_seen_at desc nulls last,
                colleges.file_id desc,
                colleges.line_number
        ) as export_rank
    from colleges
    left join files on files.file_id = colleges.file_id
    where colleges.uai is not null
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
    ips,
    latitude,
    longitude,
    source_file
from ranked
where export_rank = 1
