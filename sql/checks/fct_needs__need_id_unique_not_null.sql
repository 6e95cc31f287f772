select need_id, count(*) as copies
from marts.fct_needs
group by need_id
having need_id is null or count(*) > 1
