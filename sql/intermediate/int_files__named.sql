-- grain: one row per ingested file content (file_id)
with

ledger as (
    select file_id, path, ingested_at from staging.stg_ingestion__ledger
),

named as (
    -- a content seen again under a later name (skipped as a duplicate) is that later export
    select
        file_id,
        max(path) as last_name,
        max(ingested_at) as last_seen_at
    from ledger
    where file_id is not null
    group by file_id
)

select
    file_id,
    last_name,
    last_seen_at
from named
