select visit_id, profile
from marts.fct_visits
where profile is null or profile not in ('eleve', 'enseignant', 'parent', 'personnel', 'anonyme', 'inconnu')
