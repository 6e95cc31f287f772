-- grain: one row per local day × outcome × reason
-- incremental: by local_day (undated rejects are the rows without one)
with

access_log as (
    select local_day from staging.stg_proxy__access_log
),

log_rejects as (
    select file_id, local_day, reason from staging.stg_proxy__log_rejects
),

archived_days as (
    select local_day from intermediate.int_archive__complete_days
),

archived_undated_files as (
    select undated_file_id as file_id from staging.stg_archive__files where undated_file_id is not null
),

archived as (
    -- a complete day's rows, and the counts of undated rejects whose detail expired
    select local_day, outcome, reason, lines
    from staging.stg_archive__log_lines_daily
    where local_day in (select local_day from archived_days) or local_day is null
),

accepted as (
    select local_day, 'accepted' as outcome, cast(null as varchar) as reason, count(*) as lines
    from access_log
    where local_day not in (select local_day from archived_days)
    group by local_day
),

rejected as (
    select local_day, 'rejected' as outcome, reason, count(*) as lines
    from log_rejects
    where (local_day is null and file_id not in (select file_id from archived_undated_files))
        or (local_day is not null and local_day not in (select local_day from archived_days))
    group by local_day, reason
),

log_lines as (
    select * from accepted
    union all
    select * from rejected
    union all
    select * from archived
),

counted as (
    -- undated counts come from several log files
    select local_day, outcome, reason, sum(lines) as lines
    from log_lines
    group by local_day, outcome, reason
)

select
    local_day,
    outcome,
    reason,
    cast(lines as bigint) as lines
from counted
