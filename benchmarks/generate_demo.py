"""Speed and memory of the demo generator: write a department of some scale or size, report.

    .venv/bin/python benchmarks/generate_demo.py [--scale 0.05 | --lines 3000000] [--seed 2020] [--keep DIR]

Prints, as JSON, the scale, the log lines written, the seconds taken, lines per second, the peak
resident memory of the process, and the time seed scale would take at the same speed. Generated
lines are good benchmark input for ingestion too (`--keep` leaves them in DIR/raw).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pipelines.demo import estimated_log_lines, generate_demo, scale_for_log_lines


def measure(data_dir: Path, scale: float, seed: int) -> dict:
    """Generate a demo into data_dir and return what it took."""
    started = time.perf_counter()
    truth_path = generate_demo(data_dir / "raw", seed=seed, scale=scale)
    seconds = time.perf_counter() - started
    lines = json.loads(truth_path.read_text(encoding="utf-8"))["quality"]["log_lines_read"]
    log_bytes = sum(path.stat().st_size for path in (data_dir / "raw" / "logs").iterdir())
    return {
        "scale": scale,
        "log_lines": lines,
        "log_megabytes_on_disk": round(log_bytes / 1e6, 1),
        "seconds": round(seconds, 1),
        "lines_per_second": round(lines / seconds),
        "peak_memory_megabytes": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "seed_scale_estimated_seconds": round(seconds * estimated_log_lines("seed") / lines),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run one measurement, print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--scale", type=float, help="fraction of seed scale (default 0.05)")
    size.add_argument("--lines", type=int, help="about this many log lines")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--keep", type=Path, help="write into this folder and keep it")
    args = parser.parse_args(argv)
    scale = scale_for_log_lines(args.lines) if args.lines else args.scale or 0.05
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="demo-benchmark-"))
    try:
        print(json.dumps(measure(data_dir, scale, args.seed), indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
