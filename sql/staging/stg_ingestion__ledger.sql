-- grain: one row per raw file seen by ingestion
with

ledger as (
    select * from raw.ledger
)

select
    path,
    kind,
    size,
    mtime_ns,
    file_id,
    status,
    lines_read,
    lines_accepted,
    lines_rejected,
    ingested_at
from ledger
