-- grain: one row per accepted access log line
-- materialized: view (read in one pass by the page views; a copy of every log line would only cost time)
-- incremental: by local_day (each line belongs to one local day)
with

access_log as (
    select * from raw.access_log
),

renamed as (
    select
        file_id,
        line_number,
        ts_utc,
        local_ts,
        local_day,
        -- the visitor is the login whenever there is one, whatever address it comes from
        coalesce(user_key, visitor_key) as visitor_key,
        user_key,
        method,
        -- a page is counted without its query string, even if one slipped into the path
        if(contains(path, '?'), split_part(path, '?', 1), path) as path,
        if(query is null and contains(path, '?'), substr(path, strpos(path, '?') + 1), query) as query,
        protocol,
        status,
        bytes_sent,
        referrer,
        user_agent
    from access_log
)

select
    file_id,
    line_number,
    ts_utc,
    local_ts,
    local_day,
    visitor_key,
    user_key,
    method,
    path,
    query,
    protocol,
    status,
    bytes_sent,
    referrer,
    user_agent
from renamed
