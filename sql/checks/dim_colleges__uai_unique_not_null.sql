select uai, count(*) as copies
from marts.dim_colleges
group by uai
having uai is null or count(*) > 1
