select uai, sector, education_priority
from marts.dim_colleges
where sector is null or sector not in ('public', 'private_under_contract', 'private_no_contract')
    or education_priority not in ('REP+', 'REP', 'none')
