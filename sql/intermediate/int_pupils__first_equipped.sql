-- grain: one row per pupil who received a device (loan or gift)
with

loans as (
    select recipient_key, recipient_type, start_date from intermediate.int_loans__deduplicated
),

first_equipped as (
    select
        recipient_key as pupil_key,
        min(start_date) as first_equipped_on,
        count(*) as devices
    from loans
    where recipient_type = 'eleve' and recipient_key is not null
    group by recipient_key
)

select
    pupil_key,
    first_equipped_on,
    devices
from first_equipped
