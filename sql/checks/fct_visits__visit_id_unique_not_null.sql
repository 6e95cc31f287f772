select visit_id, count(*) as copies
from marts.fct_visits
group by visit_id
having visit_id is null or count(*) > 1
