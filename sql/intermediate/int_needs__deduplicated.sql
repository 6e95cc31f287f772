-- grain: one row per need (need_id), from the latest export that holds it
with

needs as (
    select * from staging.stg_equipment__needs
),

files as (
    select file_id, last_name, last_seen_at from intermediate.int_files__named
),

ranked as (
    -- the file whose name sorts last wins; the same name ingested twice: the later content wins
    select
        needs.*,
        row_number() over (
            partition by needs.need_id
            order by
                coalesce(files.last_name, needs.source_file) desc,
                files.last_seen_at desc nulls last,
                needs.file_id desc,
                needs.line_number
        ) as export_rank
    from needs
    left join files on files.file_id = needs.file_id
    where needs.need_id is not null
)

select
    need_id,
    pupil_key,
    uai,
    criterion,
    identified_on,
    source_file
from ranked
where export_rank = 1
