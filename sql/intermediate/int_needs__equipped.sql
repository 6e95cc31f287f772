-- grain: one row per need, with the day its pupil first received a device
with

needs as (
    select need_id, pupil_key, uai, criterion, identified_on
    from intermediate.int_needs__deduplicated
),

pupils as (
    select pupil_key, first_equipped_on
    from intermediate.int_pupils__first_equipped
),

equipped as (
    -- a device given before the need was identified covers it from the day it is identified
    select
        needs.need_id,
        needs.pupil_key,
        needs.uai,
        needs.criterion,
        needs.identified_on,
        pupils.first_equipped_on,
        -- greatest() would skip a null: a need never covered keeps null
        case
            when pupils.first_equipped_on is not null
                then greatest(pupils.first_equipped_on - needs.identified_on, 0)
        end as days_to_equipment,
        case
            when pupils.first_equipped_on is not null
                then greatest(pupils.first_equipped_on, needs.identified_on)
        end as covered_on
    from needs
    left join pupils on pupils.pupil_key = needs.pupil_key
)

select
    need_id,
    pupil_key,
    uai,
    criterion,
    identified_on,
    first_equipped_on,
    days_to_equipment,
    covered_on
from equipped
