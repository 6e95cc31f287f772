-- a row's visitors never outnumber its visits, nor its visits its page views
select local_day, uai, profile, service, page_views, visits, visitors
from marts.fct_daily_usage
where visits > page_views or visitors > visits or page_views < 1
