select loan_id, count(*) as copies
from marts.fct_devices
group by loan_id
having loan_id is null or count(*) > 1
