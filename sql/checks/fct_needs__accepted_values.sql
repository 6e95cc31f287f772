select need_id, criterion, identified_on, days_to_equipment
from marts.fct_needs
where criterion is null or criterion not in ('rep', 'ulis', 'ase', 'boursier', 'autre')
    or identified_on is null
    or days_to_equipment < 0
    or (first_equipped_on is null) <> (days_to_equipment is null)
