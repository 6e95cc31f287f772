"""Ingestion: raw files of `DATA_DIR/raw/` into the warehouse's Parquet tables, recorded in a ledger.

`ingest_raw(settings)` does it all; `discover`, `ingest_file` and `record` are the same in steps,
so that a flow can map `ingest_file` over the new files (in other processes if need be) while
only the driver writes the ledger.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.ingest.files import IngestReport, ingest_file, ingest_raw
    from pipelines.ingest.ledger import discover, read_ledger, record
    from pipelines.ingest.raw_files import FileResult, RawFile, reading_order

# The module of each name, imported when the name is first asked for: a run starts its worker
# processes (pipelines/ingest/workers.py) before this process spends time importing polars.
_MODULES = {
    "IngestReport": "files", "ingest_file": "files", "ingest_raw": "files",
    "discover": "ledger", "read_ledger": "ledger", "record": "ledger",
    "FileResult": "raw_files", "RawFile": "raw_files", "reading_order": "raw_files",
}  # fmt: skip

__all__ = [
    "FileResult", "IngestReport", "RawFile", "discover", "ingest_file", "ingest_raw", "read_ledger", "reading_order",
    "record",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
