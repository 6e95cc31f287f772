-- a page view is one accepted log line: a join that repeats lines would inflate every figure
-- incremental: by local_day (a line has one local day, so a repeat lies within one day)
-- grouping on one 64-bit hash of the line is much cheaper than on its two columns; equal hashes are compared in full
with

hashed as (
    select hash(file_id, line_number) as line_hash
    from intermediate.int_page_views__sessionised
),

repeated_hashes as (
    select line_hash from hashed group by line_hash having count(*) > 1
)

select file_id, line_number, count(*) as copies
from intermediate.int_page_views__sessionised
where hash(file_id, line_number) in (select line_hash from repeated_hashes)
group by file_id, line_number
having count(*) > 1
