select local_day, hour, count(*) as copies
from marts.fct_hourly_usage
group by local_day, hour
having local_day is null or hour is null or hour not between 0 and 23 or count(*) > 1
