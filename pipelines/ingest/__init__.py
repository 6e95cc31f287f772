"""Ingestion: raw files of `DATA_DIR/raw/` into the warehouse's Parquet tables, recorded in a ledger.

`ingest_raw(settings)` does it all; `discover`, `ingest_file` and `record` are the same in steps,
so that a flow can map `ingest_file` over the new files (in other processes if need be) while
only the driver writes the ledger.
"""

from pipelines.ingest.files import IngestReport, ingest_file, ingest_raw
from pipelines.ingest.ledger import discover, read_ledger, record
from pipelines.ingest.raw_files import FileResult, RawFile

__all__ = ["FileResult", "IngestReport", "RawFile", "discover", "ingest_file", "ingest_raw", "read_ledger", "record"]
