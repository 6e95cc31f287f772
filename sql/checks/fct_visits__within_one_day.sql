-- a visit starts and ends on its local day, ends after it starts and holds at least one page view
select visit_id, local_day, started_at, started_at_local, ended_at, page_views
from marts.fct_visits
where local_day is null
    or cast(started_at_local as date) <> local_day
    or ended_at < started_at
    or page_views < 1
