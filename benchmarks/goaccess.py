"""End to end against GoAccess: the same demo logs, raw files to dashboards, side by side.

    .venv/bin/python benchmarks/goaccess.py [--lines 5000000] [--runs 3] [--work DIR] [--skip-goaccess]
        [--skip-direct] [--skip-server]

Generates about N log lines with the demo generator (once: a folder already holding them is
reused), then times, in alternating order and each in a fresh child process:

- `ent-analytics run` on a cold data folder whose `raw/` is the generated one (ingestion,
  models, checks, dashboards, headline; Prefect's local API included);
- the same command on another cold data folder, its flow reported to a Prefect server already
  running (`prefect server start`, started once before the rounds and not timed), as scheduled
  runs have one (docs/scheduling.md);
- the same working functions called directly, without Prefect (`ingest_raw`, `transform.build`,
  `dashboards.publish`), each stage timed, to show the orchestration's fixed cost;
- `zcat -f <every log file> | goaccess --log-format=COMBINED -o report.html -` (GoAccess 1.7 does
  not read gzip files itself; its manual pipes them through zcat).

Prints the median wall time of each, lines per second, the peak resident memory (of the largest
process of the child's tree, from getrusage(RUSAGE_CHILDREN) in a fresh measuring process, and
of all its processes together: the sum of their PSS, sampled from /proc every 250 ms), the
load of the machine, and the ratio to GoAccess. The demo's duplicate file (a copy under
another name) is given to both: ent-analytics skips it by content, GoAccess reads it again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path

PYTHON = sys.executable
ENT_ANALYTICS = str(Path(sys.executable).with_name("ent-analytics"))
GOACCESS = "/usr/bin/goaccess"
PREFECT = str(Path(sys.executable).with_name("prefect"))
WITH_SERVER = "ent-analytics run, Prefect server running"


def ensure_goaccess() -> str:
    """The goaccess binary, installed with apt-get when missing."""
    found = shutil.which("goaccess") or (GOACCESS if Path(GOACCESS).exists() else None)
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "goaccess"], check=True)
    return shutil.which("goaccess") or GOACCESS


def generate(work: Path, lines: int, seed: int) -> dict:
    """The demo's truth for ~`lines` log lines in work/raw, generating it unless already there."""
    truth_path = work / "raw" / "truth.json"
    if not truth_path.exists():
        truth_path = work / "truth.json"
    if truth_path.exists():
        return json.loads(truth_path.read_text(encoding="utf-8"))
    from pipelines.demo import generate_demo, scale_for_log_lines

    started = time.perf_counter()
    truth_path = generate_demo(work / "raw", seed=seed, scale=scale_for_log_lines(lines))
    print(f"generated ~{lines:,} lines in {time.perf_counter() - started:.0f} s", flush=True)
    return json.loads(truth_path.read_text(encoding="utf-8"))


# Runs in a fresh measuring process: the command's wall and CPU seconds, the peak RSS of its largest
# process (getrusage), and the peak memory of its whole tree, sampled every 250 ms from /proc: the sum of
# each process's proportional set size (PSS), which counts pages shared by processes once in all.
# Reading a PSS takes the process's memory-map lock, which its allocations need too: sampled every
# 50 ms, a 5M-line run took 2 s longer, for the same peak within 2 %.
PROBE = """
import json, os, resource, subprocess, sys, threading, time

def tree(pid):
    pids, todo = [], [pid]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except OSError:
            pass
    return pids

def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next(int(line.split()[1]) for line in rollup if line.startswith("Pss:")) * 1024
    except (OSError, StopIteration):
        return 0

command = json.loads(sys.argv[1])
started = time.perf_counter()
child = subprocess.Popen(command, shell=isinstance(command, str), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak = [0]

def sample():
    while child.poll() is None:
        peak[0] = max(peak[0], sum(pss(pid) for pid in tree(child.pid)))
        time.sleep(0.25)

threading.Thread(target=sample, daemon=True).start()
stderr = child.communicate()[1]
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
                  "tree_mib": peak[0] / 2**20, "status": child.returncode,
                  "stderr": stderr.decode(errors="replace")[-2000:]}))
"""


def measured(command: list[str] | str, env: dict[str, str] | None = None, cwd: Path | None = None) -> dict:
    """Run a command in a fresh measuring process: wall seconds, CPU seconds, peak RSS (MiB), largest process and tree."""
    probe = PROBE
    result = subprocess.run(
        [PYTHON, "-c", probe, json.dumps(command)], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    outcome = json.loads(result.stdout)
    if outcome["status"] != 0:
        raise SystemExit(f"{command} failed ({outcome['status']}): {outcome['stderr']}")
    return outcome


def cold_folder(work: Path, name: str) -> Path:
    """A fresh data folder whose raw/ is the generated one."""
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "raw").symlink_to((work / "raw").resolve())
    return folder


def run_ent_analytics(work: Path, env: dict[str, str]) -> dict:
    """`ent-analytics run` on a cold data folder."""
    folder = cold_folder(work, "ent-run")
    outcome = measured([ENT_ANALYTICS, "run", "--data-dir", str(folder)], env=env)
    outcome["headline"] = json.loads((folder / "dashboards" / "headline.json").read_text(encoding="utf-8"))
    return outcome


@contextmanager
def prefect_server(work: Path) -> Iterator[str]:
    """A Prefect server on loopback for the time of the benchmark, as scheduled runs have one; yields its API URL.

    Its start is not timed: it is a service started once, not a cost of each run.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = work / "prefect-server"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with open(home / "server.log", "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the Prefect server did not start (see {home / 'server.log'})") from None
                time.sleep(0.5)
        time.sleep(5)  # its services settle
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def run_with_server(work: Path, env: dict[str, str], url: str) -> dict:
    """`ent-analytics run` on a cold data folder, its flow reported to a Prefect server already running."""
    folder = cold_folder(work, "ent-run-server")
    outcome = measured([ENT_ANALYTICS, "run", "--data-dir", str(folder)], env={**env, "PREFECT_API_URL": url})
    outcome["headline"] = json.loads((folder / "dashboards" / "headline.json").read_text(encoding="utf-8"))
    return outcome


def run_direct(work: Path, env: dict[str, str]) -> dict:
    """The working functions without Prefect on a cold data folder, each stage timed in the child."""
    folder = cold_folder(work, "ent-direct")
    stages = work / "stages.json"
    outcome = measured([PYTHON, __file__, "--stages", str(folder), str(stages)], env=env)
    outcome["stages"] = json.loads(stages.read_text(encoding="utf-8"))
    return outcome


def run_stages(folder: Path, output: Path) -> None:
    """Ingest, build, publish on `folder`, writing each stage's seconds to `output` (in the child)."""
    seconds = {}
    started = time.perf_counter()
    from dashboards import publish
    from pipelines import transform
    from pipelines.ingest import ingest_raw
    from pipelines.pipeline import INGEST_WORKERS
    from pipelines.settings import load_settings

    settings = load_settings().with_data_dir(folder)
    seconds["imports"] = time.perf_counter() - started
    ingest = partial(ingest_raw, processes=INGEST_WORKERS)  # the worker processes of a run
    for stage, work in (("ingest", ingest), ("models", transform.build), ("dashboards", publish)):
        started = time.perf_counter()
        work(settings)
        seconds[stage] = time.perf_counter() - started
    output.write_text(json.dumps(seconds), encoding="utf-8")


def run_goaccess(work: Path, goaccess: str) -> dict:
    """GoAccess on every log file, decompressed by zcat, into an HTML report."""
    logs = sorted(str(path) for path in (work / "raw" / "logs").iterdir())
    report = work / "goaccess-report.html"
    quoted = " ".join(f"'{name}'" for name in logs)
    command = f"zcat -f {quoted} | {goaccess} --log-format=COMBINED --no-global-config -o '{report}' -"
    return measured(command)


def physical_lines(work: Path) -> int:
    """Lines of every log file, as GoAccess reads them (the duplicate file included)."""
    logs = " ".join(f"'{path}'" for path in sorted((work / "raw" / "logs").iterdir()))
    return int(subprocess.run(f"zcat -f {logs} | wc -l", shell=True, capture_output=True, text=True).stdout)


def summary(name: str, runs: list[dict], lines: int) -> dict:
    """Median wall and CPU seconds, lines per second, largest peak RSS of the runs of one command."""
    wall = statistics.median(run["wall"] for run in runs)
    return {
        "command": name,
        "runs": [round(run["wall"], 2) for run in runs],
        "median_seconds": round(wall, 2),
        "median_cpu_seconds": round(statistics.median(run["cpu"] for run in runs), 2),
        "lines": lines,
        "lines_per_second": round(lines / wall),
        "peak_rss_mib": round(max(run["rss_mib"] for run in runs)),
        "peak_tree_mib": round(max(run["tree_mib"] for run in runs)),
    }


def run_rounds(
    work: Path, runs: int, goaccess: str | None, direct: bool, server_url: str | None
) -> dict[str, list[dict]]:
    """Every command `runs` times, in alternating order; the measurements of each command."""
    env = {**os.environ, "ENT_ANALYTICS_PSEUDONYM_KEY": "benchmark"}
    order = ["ent-analytics run", WITH_SERVER, "working functions", "goaccess"]
    results: dict[str, list[dict]] = {name: [] for name in order}
    for run in range(runs):
        for name in order if run % 2 == 0 else order[::-1]:
            if name == "goaccess" and goaccess:
                results[name].append(run_goaccess(work, goaccess))
            elif name == "working functions" and direct:
                results[name].append(run_direct(work, env))
            elif name in ("ent-analytics run", WITH_SERVER) and (name != WITH_SERVER or server_url):
                outcome = run_ent_analytics(work, env) if name != WITH_SERVER else run_with_server(work, env, server_url)
                if outcome.pop("headline").get("page_views") is None:
                    raise SystemExit("the run published no headline figures")
                results[name].append(outcome)
            else:
                continue
            latest = results[name][-1]
            print(f"run {run + 1} {name}: {latest['wall']:.1f} s, {latest['rss_mib']:.0f} MiB (all processes {latest['tree_mib']:.0f} MiB)", flush=True)
    return results


def report(work: Path, lines: int, results: dict[str, list[dict]], goaccess: str | None) -> dict:
    """The medians of every command, the stages without Prefect, and the ratios to GoAccess."""
    goaccess_lines = physical_lines(work) if goaccess else 0
    table = [
        summary(name, runs, goaccess_lines if name == "goaccess" else lines) for name, runs in results.items() if runs
    ]
    stages = [run["stages"] for run in results["working functions"]]
    figures = {
        "log_lines": lines,
        "load_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "results": table,
        "stages_median_seconds": {key: round(statistics.median(s[key] for s in stages), 2) for key in stages[0]}
        if stages
        else {},
    }
    if goaccess:
        reference = next(row for row in table if row["command"] == "goaccess")["median_seconds"]
        figures["ratio_to_goaccess"] = {row["command"]: round(row["median_seconds"] / reference, 3) for row in table}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--work", type=Path, help="folder for the logs and runs, kept (default: temporary)")
    parser.add_argument("--skip-goaccess", action="store_true", help="time ent-analytics only")
    parser.add_argument("--skip-direct", action="store_true", help="do not time the stages without Prefect")
    parser.add_argument(
        "--skip-server", action="store_true", help="do not time runs reporting to a Prefect server already running"
    )
    parser.add_argument("--stages", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stages:
        run_stages(*args.stages)
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="ent-vs-goaccess-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        lines = generate(work, args.lines, args.seed)["quality"]["log_lines_read"]
        goaccess = None if args.skip_goaccess else ensure_goaccess()
        print(f"load before: {os.getloadavg()}", flush=True)
        with nullcontext() if args.skip_server else prefect_server(work) as server_url:
            results = run_rounds(work, args.runs, goaccess, not args.skip_direct, server_url)
        print(json.dumps(report(work, lines, results, goaccess), indent=2))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
