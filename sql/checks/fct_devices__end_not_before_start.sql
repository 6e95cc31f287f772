select loan_id, start_date, end_date
from marts.fct_devices
where start_date is null or end_date < start_date
