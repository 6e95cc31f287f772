-- grain: one row per need
with

needs as (
    select need_id, pupil_key, uai, criterion, identified_on, first_equipped_on, days_to_equipment
    from intermediate.int_needs__equipped
)

select
    need_id,
    pupil_key,
    uai,
    criterion,
    identified_on,
    first_equipped_on,
    days_to_equipment
from needs
