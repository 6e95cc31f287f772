-- a path segment named twice in the services table would count its page views twice
select segment, count(*) as rows, string_agg(service, ', ') as services
from staging.stg_seeds__services
group by segment
having count(*) > 1
