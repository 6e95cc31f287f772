select space_id, local_day, count(*) as copies
from marts.fct_space_days
group by space_id, local_day
having space_id is null or local_day is null or count(*) > 1
