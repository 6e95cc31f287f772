"""The `ent-analytics` command: demo, run, headline, quality, serve."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys

from pipelines.errors import UserError
from pipelines.settings import Settings, load_settings


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2020-03-16") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ent-analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--data-dir", help="data folder (default: $ENT_ANALYTICS_DATA_DIR or ./data)")
        return sub

    demo = command("demo", "write a generated demo department into DIR/raw/, then run the whole pipeline")
    demo.add_argument("--seed", type=int, default=2020, help="random seed (default 2020)")
    demo.add_argument("--scale", default="small", help="traffic volume: small (default), seed (the press release's traffic), or a factor of seed")

    run = command("run", "ingest what is new in DIR/raw/, rebuild the models, write the dashboards")
    run.add_argument("--dask-address", help="run ingestion on this Dask scheduler (tcp://host:port)")

    headline = command("headline", "the press figures for a period (both ends included)")
    headline.add_argument("--start", type=_date, help="first day (default: first day of data)")
    headline.add_argument("--end", type=_date, help="last day (default: last day of data)")
    headline.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    headline.add_argument("--lang", choices=["fr", "en"], default="fr")

    quality = command("quality", "what was read, accepted, rejected and skipped")
    quality.add_argument("--format", choices=["text", "json"], default="text")

    command("serve", "serve the scheduled deployments of prefect.yaml from this machine")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings().with_data_dir(args.data_dir)


def _dispatch(args: argparse.Namespace) -> None:
    settings = _settings(args)
    if args.command == "demo":
        from pipelines.pipeline import demo

        demo(settings, seed=args.seed, scale=args.scale)
    elif args.command == "run":
        from pipelines.pipeline import run

        run(settings, dask_address=args.dask_address)
    elif args.command == "headline":
        from pipelines.headline import headline_command

        print(headline_command(settings, args.start, args.end, args.format, args.lang))
    elif args.command == "quality":
        from pipelines.quality import quality_report, render_quality

        report = quality_report(settings)
        print(json.dumps(report, indent=2) if args.format == "json" else render_quality(report))
    elif args.command == "serve":
        from pipelines.flows import serve

        serve(settings)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        _dispatch(args)
    except UserError as error:
        print(f"ent-analytics: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ent-analytics: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_left()
    return 0


def _reader_left() -> int:
    """The reader (`| head`) left early: silence any later flush instead of a traceback; the shell's status."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 141


def console() -> None:
    """The `ent-analytics` command: `main`, then exit at once.

    By then every file is written and closed; what remains, tearing down the thousands of
    modules a run imports (Prefect's server and client), takes over a second and does nothing.
    """
    status = main()
    try:
        sys.stdout.flush()  # what main printed may still be buffered, and its reader gone
    except BrokenPipeError:
        status = _reader_left()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    console()
