select local_day, uai, profile, service, count(*) as copies
from marts.fct_daily_usage
group by local_day, uai, profile, service
having local_day is null or profile is null or service is null or count(*) > 1
