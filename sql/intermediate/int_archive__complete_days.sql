-- grain: one row per local day whose daily marts retention archived completely
with

archive_files as (
    select mart, local_day from staging.stg_archive__files where local_day is not null
),

complete_days as (
    -- retention deletes a day's detail only once the day is in all four archives
    select local_day
    from archive_files
    where mart in ('fct_daily_usage', 'fct_hourly_usage', 'fct_space_days', 'fct_log_lines_daily')
    group by local_day
    having count(distinct mart) = 4
)

select
    local_day
from complete_days
