"""How busy the demo department is: a factor of the press release's traffic (`seed` = 1.0).

The département itself (its collèges, accounts, devices and needs) is at its real size at every
scale; the factor sets how many of its people visit the ENT, hence the number of log lines.
"""

from __future__ import annotations

import math

from pipelines.errors import UserError

SEED_SCALE = 1.0
# About 225,000 log lines: the whole demo (generation, ingestion, models, dashboards) runs in seconds.
SMALL_SCALE = 0.003
NAMED_SCALES = {"seed": SEED_SCALE, "small": SMALL_SCALE}
# Measured: log lines written per unit of scale, and those written whatever the scale
# (the monitoring probe every 15 minutes, the set pieces, the malformed lines).
LOG_LINES_PER_SCALE = 73_250_000
FIXED_LOG_LINES = 3_780


def resolve_scale(scale: str | float) -> float:
    """The traffic factor of a scale given as `small`, `seed` or a positive number (a fraction of seed)."""
    if isinstance(scale, str) and scale.strip().lower() in NAMED_SCALES:
        return NAMED_SCALES[scale.strip().lower()]
    try:
        factor = float(scale)
    except (TypeError, ValueError):
        raise UserError(f"scale {scale!r} is not small, seed or a positive number") from None
    if not math.isfinite(factor) or factor <= 0 or factor > 10:
        raise UserError(f"scale {scale!r} must be a number above 0 and at most 10 (seed = 1)")
    return factor


def estimated_log_lines(scale: str | float) -> int:
    """About how many log lines the demo writes at this scale (within a few per cent)."""
    return round(LOG_LINES_PER_SCALE * resolve_scale(scale) + FIXED_LOG_LINES)


def scale_for_log_lines(lines: int) -> float:
    """The scale at which the demo writes about this many log lines (for benchmarks)."""
    if lines <= FIXED_LOG_LINES:
        raise UserError(f"the demo writes at least {FIXED_LOG_LINES} log lines; ask for more than {lines}")
    return (lines - FIXED_LOG_LINES) / LOG_LINES_PER_SCALE


def scaled_count(count: int, factor: float, minimum: int = 1) -> int:
    """A traffic count of the press release at this scale, never below `minimum` so every kind stays present."""
    return max(minimum, round(count * factor))
