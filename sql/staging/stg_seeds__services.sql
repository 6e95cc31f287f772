-- grain: one row per first path segment named in the services table
with

services as (
    select * from seeds.services
)

select
    -- `/` and an empty cell both name the home page, whose first segment is empty
    lower(trim(coalesce(segment, ''), '/ ')) as segment,
    trim(service) as service
from services
