-- a page view is one accepted log line: a join that repeats lines would inflate every figure
select file_id, line_number, count(*) as copies
from intermediate.int_page_views__sessionised
group by file_id, line_number
having count(*) > 1
