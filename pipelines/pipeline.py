"""The jobs behind `ent-analytics run` and `ent-analytics demo`."""

from __future__ import annotations

import sys

from pipelines.errors import UserError
from pipelines.settings import Settings


def run(settings: Settings, dask_address: str | None = None) -> None:
    """Ingest what is new, rebuild the models, publish the dashboards."""
    from dashboards import publish
    from pipelines.ingest import ingest_raw
    from pipelines.transform import build

    report = ingest_raw(settings)
    build(settings)
    publish(settings)
    for problem in report.problems:
        print(f"ent-analytics: {problem}", file=sys.stderr)
    if report.problems:
        raise UserError(f"{len(report.problems)} raw file(s) could not be read; everything else was ingested")


def demo(settings: Settings, seed: int, scale: str) -> None:
    """Write the generated demo department into DATA_DIR/raw, then run the whole pipeline."""
    from pipelines.demo import generate_demo

    generate_demo(settings.raw_dir, seed=seed, scale=scale)
    run(settings)
