select local_day, count(*) as visits, sum(page_views) as page_views
from marts.fct_visits
group by local_day
having count(*) > sum(page_views)
