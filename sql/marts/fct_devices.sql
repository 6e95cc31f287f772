-- grain: one row per loan or gift (latest export)
with

loans as (
    select loan_id, device_type, transfer, recipient_type, recipient_key, uai, start_date, end_date
    from intermediate.int_loans__deduplicated
)

select
    loan_id,
    device_type,
    transfer,
    recipient_type,
    recipient_key,
    uai,
    start_date,
    end_date
from loans
