select distinct profile
from marts.fct_daily_usage
where profile not in ('eleve', 'enseignant', 'parent', 'personnel', 'anonyme', 'inconnu')
