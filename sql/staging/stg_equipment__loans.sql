-- grain: one row per accepted loan or gift row of each export
with

loans as (
    select * from raw.loans
)

select
    file_id,
    source_file,
    line_number,
    loan_id,
    device_serial,
    device_type,
    transfer,
    recipient_type,
    recipient_key,
    upper(trim(uai)) as uai,
    start_date,
    end_date
from loans
