"""Helpers of the ingestion tests: a data folder in tmp_path, raw files written into it, tables read back."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl

from pipelines.settings import Settings

KEY = "test"


def settings_for(tmp_path: Path) -> Settings:
    """Settings of a data folder under tmp_path, with a fixed pseudonymisation key."""
    return Settings(data_dir=tmp_path / "data", pseudonym_key=KEY)


def write_raw(settings: Settings, relative: str, lines: list[str] | bytes, compress: bool = False) -> Path:
    """Write a raw file under raw/ (lines joined with newlines, or bytes as given), gzip-compressed if asked."""
    path = settings.raw_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    content = lines if isinstance(lines, bytes) else "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


def table(settings: Settings, name: str) -> pl.DataFrame:
    """Every part of a warehouse table read together (empty when there is none), in file and line order."""
    pattern = "*/*.parquet" if name == "access_log" else "*.parquet"
    parts = sorted((settings.warehouse_dir / name).glob(pattern))
    if not parts:
        return pl.DataFrame()
    return pl.concat([pl.read_parquet(part) for part in parts], how="diagonal_relaxed").sort("file_id", "line_number")


def warehouse_files(settings: Settings) -> dict[str, bytes]:
    """Every file under the warehouse, by path relative to it, with its bytes."""
    root = settings.warehouse_dir
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}
