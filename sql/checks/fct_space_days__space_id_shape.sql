select space_id, local_day
from marts.fct_space_days
where not regexp_full_match(space_id, '[A-Za-z0-9_-]+') or visitors > page_views
