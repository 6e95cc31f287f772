select local_day, outcome, reason, count(*) as copies
from marts.fct_log_lines_daily
group by local_day, outcome, reason
having outcome not in ('accepted', 'rejected')
    or (outcome = 'accepted') <> (reason is null)
    or count(*) > 1
