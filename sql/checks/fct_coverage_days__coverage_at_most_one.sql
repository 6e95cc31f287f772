select day, uai, needs_identified, needs_covered, coverage_rate
from marts.fct_coverage_days
where needs_covered > needs_identified or coverage_rate not between 0 and 1 or coverage_rate is null
