select local_day, visitor_key, count(*) as copies
from marts.fct_visitor_days
group by local_day, visitor_key
having local_day is null or visitor_key is null or count(*) > 1
