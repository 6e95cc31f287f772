-- grain: one row per directory user (user_key), from the latest export that holds it
with

directory as (
    select * from staging.stg_ent__directory
),

files as (
    select file_id, last_name, last_seen_at from intermediate.int_files__named
),

ranked as (
    -- the file whose name sorts last wins; the same name ingested twice: the later content wins
    select
        directory.*,
        row_number() over (
            partition by directory.user_key
            order by
                coalesce(files.last_name, directory.source_file) desc,
                files.last_seen_at desc nulls last,
                directory.file_id desc,
                directory.line_number
        ) as export_rank
    from directory
    left join files on files.file_id = directory.file_id
    where directory.user_key is not null
)

select
    user_key,
    profile,
    uai,
    source_file
from ranked
where export_rank = 1
