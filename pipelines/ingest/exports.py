"""The ENT's CSV exports (directory, collèges reference, loans, needs) read into typed rows and rejects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import polars as pl

from pipelines.errors import UserError
from pipelines.ingest.csv_format import (
    CsvRows,
    csv_line,
    decode_csv_bytes,
    parse_dates,
    parse_decimals,
    parse_flags,
    parse_whole_numbers,
    read_csv_rows,
)
from pipelines.pseudonym import user_keys

VOCABULARIES = {
    "profile": ("eleve", "enseignant", "parent", "personnel"),
    "sector": ("public", "private_under_contract", "private_no_contract"),
    "education_priority": ("REP+", "REP", "none"),
    "device_type": ("ultraportable", "tablette", "pc_recycle"),
    "transfer": ("pret", "don"),
    "recipient_type": ("eleve", "enseignant"),
    "criterion": ("rep", "ulis", "ase", "boursier", "autre"),
}
# Identifier columns never leave this module in clear: each becomes its keyed hash.
IDENTIFIER_KEYS = {"user_id": "user_key", "recipient_id": "recipient_key", "pupil_id": "pupil_key"}


@dataclass(frozen=True)
class Field:
    """One column of an export: its shape, whether a row needs a value, whether the header must name it."""

    name: str
    shape: str  # text, code, identifier, word, date, count, decimal, flag
    required: bool = True
    in_header: bool = True


@dataclass(frozen=True)
class ExportLayout:
    """The columns of one kind of export, in output order, and the column that must not repeat in a file."""

    kind: str
    fields: tuple[Field, ...]
    unique: str
    # (start, end): a row whose end is before its start is rejected.
    date_range: tuple[str, str] | None = None


@dataclass(frozen=True)
class ParsedExport:
    """What one export file gave: typed accepted rows, rejected rows with reasons, data rows read."""

    accepted: pl.DataFrame
    rejects: pl.DataFrame
    rows_read: int


LAYOUTS = {
    "directory": ExportLayout(
        "directory", (Field("user_id", "identifier"), Field("profile", "word"), Field("uai", "code")), "user_id"
    ),
    "reference": ExportLayout(
        "reference",
        (
            Field("uai", "code"),
            Field("name", "text"),
            Field("commune", "text"),
            Field("sector", "word"),
            Field("education_priority", "word", required=False),
            Field("students", "count", required=False),
            Field("commune_insee", "text", required=False, in_header=False),
            Field("has_ulis", "flag", required=False, in_header=False),
            Field("ips", "decimal", required=False, in_header=False),
            Field("latitude", "decimal", required=False, in_header=False),
            Field("longitude", "decimal", required=False, in_header=False),
        ),
        "uai",
    ),
    "loans": ExportLayout(
        "loans",
        (
            Field("loan_id", "text"),
            Field("device_serial", "text", required=False),
            Field("device_type", "word"),
            Field("transfer", "word"),
            Field("recipient_type", "word"),
            Field("recipient_id", "identifier"),
            Field("uai", "code"),
            Field("start_date", "date"),
            Field("end_date", "date", required=False),
        ),
        "loan_id",
        date_range=("start_date", "end_date"),
    ),
    "needs": ExportLayout(
        "needs",
        (
            Field("need_id", "text"),
            Field("pupil_id", "identifier"),
            Field("uai", "code"),
            Field("criterion", "word"),
            Field("identified_on", "date"),
        ),
        "need_id",
    ),
}

DTYPES = {
    "text": pl.String,
    "code": pl.String,
    "identifier": pl.String,
    "word": pl.String,
    "date": pl.Date,
    "count": pl.Int32,
    "decimal": pl.Float64,
    "flag": pl.Boolean,
}
BAD_VALUE = {
    "word": "unknown word in {}",
    "date": "unparseable date in {}",
    "count": "bad number in {}",
    "decimal": "bad number in {}",
    "flag": "bad true/false value in {}",
}
CONVERTERS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "text": lambda cells: cells,
    "identifier": lambda cells: cells,
    "code": lambda cells: cells.str.to_uppercase(),
    "date": parse_dates,
    "count": parse_whole_numbers,
    "decimal": parse_decimals,
    "flag": parse_flags,
}
REJECT_SCHEMA = {
    "source_file": pl.String,
    "kind": pl.String,
    "line_number": pl.Int64,
    "reason": pl.String,
    "text": pl.String,
}


def _canonical_word(column: str) -> Callable[[pl.Expr], pl.Expr]:
    """Matcher of one vocabulary: any letter case in, the canonical spelling out, null when unknown."""
    spellings = {word.lower(): word for word in VOCABULARIES[column]}
    return lambda cells: cells.str.to_lowercase().replace_strict(spellings, default=None, return_dtype=pl.String)


def _value(field: Field) -> pl.Expr:
    """The typed value of a trimmed cell (null when empty or malformed), named after its column."""
    convert = _canonical_word(field.name) if field.shape == "word" else CONVERTERS[field.shape]
    return convert(pl.col(field.name)).cast(DTYPES[field.shape]).alias(field.name)


def parse_export(kind: str, path: Path, source_file: str, key: bytes) -> ParsedExport:
    """Read one export file of a kind into accepted rows (identifiers hashed) and rejects with reasons."""
    layout = LAYOUTS[kind]
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"{source_file}: cannot read the file: {error.strerror}") from None
    table = read_csv_rows(decode_csv_bytes(data, source_file), source_file)
    positions = _column_positions(table, layout, source_file)
    width = len(table.header)
    fitting = [index for index, row in enumerate(table.rows) if _fits(row, width)]
    cells = _cell_frame(table, fitting, layout, positions)
    judged = cells.with_columns(reason=_row_reason(layout)).with_columns(reason=_repetition_reason(layout))
    accepted = _accepted_rows(judged.filter(pl.col("reason").is_null()), layout, source_file, key)
    misfits = [index for index, row in enumerate(table.rows) if not _fits(row, width)]
    rejected = pl.concat(
        [
            judged.filter(pl.col("reason").is_not_null()).select("row", "line_number", "reason"),
            _misfit_reasons(table, misfits, width),
        ]
    )
    rejects = _reject_rows(rejected.sort("line_number"), table, layout, positions, source_file, key)
    return ParsedExport(accepted=accepted, rejects=rejects, rows_read=len(table.rows))


def _column_positions(table: CsvRows, layout: ExportLayout, source_file: str) -> dict[str, int]:
    """Where each column of the layout sits in the header (names trimmed, any letter case); absent ones left out."""
    names = [name.strip().lower() for name in table.header]
    wanted = {field.name for field in layout.fields}
    repeated = sorted({name for name in names if name in wanted and names.count(name) > 1})
    if repeated:
        raise UserError(f"{source_file}: column {', '.join(repeated)} appears more than once in the header")
    missing = [field.name for field in layout.fields if field.in_header and field.name not in names]
    # The message never quotes the line: without a header it is a data row, identifiers included.
    if len(missing) == sum(field.in_header for field in layout.fields):
        raise UserError(f"{source_file}: no header line naming the {layout.kind} columns {', '.join(missing)}")
    if missing:
        line = table.header_line
        raise UserError(f"{source_file}: the header (line {line}) lacks the column(s) {', '.join(missing)}")
    return {name: names.index(name) for name in wanted if name in names}


def _fits(row: list[str], width: int) -> bool:
    """Whether a row has as many fields as the header; empty cells trailing after the last column are tolerated."""
    return len(row) == width or (len(row) > width and not any(field.strip() for field in row[width:]))


def _cell_frame(table: CsvRows, fitting: list[int], layout: ExportLayout, positions: dict[str, int]) -> pl.DataFrame:
    """The layout's cells of the rows that fit the header: trimmed, null when empty or absent, with row and line."""
    frame = pl.DataFrame(
        {
            "row": pl.Series(fitting, dtype=pl.Int64),
            "line_number": pl.Series([table.line_numbers[index] for index in fitting], dtype=pl.Int64),
        }
    )
    cells = []
    for field in layout.fields:
        if field.name in positions:
            values = pl.Series([table.rows[index][positions[field.name]] for index in fitting], dtype=pl.String)
            trimmed = pl.lit(values).str.strip_chars()
            cells.append(pl.when(trimmed != "").then(trimmed).alias(field.name))
        else:
            cells.append(pl.lit(None, dtype=pl.String).alias(field.name))
    return frame.with_columns(cells)


def _row_reason(layout: ExportLayout) -> pl.Expr:
    """Why a row is rejected, from its first faulty cell in column order; null for a good row."""
    checks = []
    for field in layout.fields:
        cell = pl.col(field.name)
        if field.required:
            checks.append(pl.when(cell.is_null()).then(pl.lit(f"missing {field.name}")))
        if field.shape in BAD_VALUE:
            message = BAD_VALUE[field.shape].format(field.name)
            checks.append(pl.when(cell.is_not_null() & _value(field).is_null()).then(pl.lit(message)))
    if layout.date_range:
        fields = {field.name: field for field in layout.fields}
        start, end = (_value(fields[name]) for name in layout.date_range)
        checks.append(pl.when(end < start).then(pl.lit(f"{layout.date_range[1]} before {layout.date_range[0]}")))
    return pl.coalesce(checks).cast(pl.String)


def _repetition_reason(layout: ExportLayout) -> pl.Expr:
    """Reject every good row whose id already occurred on an earlier good row, naming that first line."""
    unique = next(field for field in layout.fields if field.name == layout.unique)
    good = pl.col("reason").is_null()
    first_line = pl.when(good).then(pl.col("line_number")).min().over(_value(unique))
    repeated = pl.format(f"repeated {layout.unique} (first at line {{}})", first_line)
    return pl.when(good & (pl.col("line_number") != first_line)).then(repeated).otherwise(pl.col("reason"))


def _accepted_rows(good: pl.DataFrame, layout: ExportLayout, source_file: str, key: bytes) -> pl.DataFrame:
    """The good rows typed in the warehouse's column order, identifiers replaced by their keyed hash."""
    typed = good.select(
        pl.lit(source_file, dtype=pl.String).alias("source_file"),
        "line_number",
        *(_value(field) for field in layout.fields),
    )
    identifiers = [field.name for field in layout.fields if field.shape == "identifier"]
    hashed = typed.with_columns(user_keys(key, typed[name]) for name in identifiers)
    return hashed.rename({name: IDENTIFIER_KEYS[name] for name in identifiers})


def _misfit_reasons(table: CsvRows, misfits: list[int], width: int) -> pl.DataFrame:
    """Rows whose field count differs from the header's, each with the counts in its reason."""
    return pl.DataFrame(
        {
            "row": pl.Series(misfits, dtype=pl.Int64),
            "line_number": pl.Series([table.line_numbers[index] for index in misfits], dtype=pl.Int64),
            "reason": pl.Series(
                [f"expected {width} fields, found {len(table.rows[index])}" for index in misfits], dtype=pl.String
            ),
        }
    )


def _reject_rows(
    rejected: pl.DataFrame,
    table: CsvRows,
    layout: ExportLayout,
    positions: dict[str, int],
    source_file: str,
    key: bytes,
) -> pl.DataFrame:
    """Rejected rows with their file, kind, line, reason and text, identifiers in the text hashed."""
    texts = _reject_texts([table.rows[index] for index in rejected["row"]], table, layout, positions, key)
    return pl.DataFrame(
        {
            "source_file": [source_file] * rejected.height,
            "kind": [layout.kind] * rejected.height,
            "line_number": rejected["line_number"],
            "reason": rejected["reason"],
            "text": texts,
        },
        schema=REJECT_SCHEMA,
    )


def _reject_texts(
    rows: list[list[str]], table: CsvRows, layout: ExportLayout, positions: dict[str, int], key: bytes
) -> list[str]:
    """Each rejected row written back as read, with every cell that may identify someone replaced by its hash.

    In an export that holds identifiers, only the cells of known non-identifying columns stay in clear:
    extra columns may hold names, and a row of the wrong width cannot say which cell is which.
    """
    if not any(field.shape == "identifier" for field in layout.fields):
        return [csv_line(row, table.separator) for row in rows]
    readable = [field.name for field in layout.fields if field.shape != "identifier" and field.name in positions]
    clear = {positions[name] for name in readable}
    width = len(table.header)
    masked = [{i for i in range(len(row)) if i not in clear or not _fits(row, width)} for row in rows]
    # Empty cells stay empty; every other masked cell becomes the same hash its value gets as a key.
    identifying = sorted({row[i].strip() for row, cells in zip(rows, masked) for i in cells if row[i].strip()})
    pseudonyms = dict(zip(identifying, user_keys(key, pl.Series(identifying, dtype=pl.String)).to_list()))
    written = []
    for row, cells in zip(rows, masked):
        written.append([pseudonyms.get(cell.strip(), "") if i in cells else cell for i, cell in enumerate(row)])
    return [csv_line(row, table.separator) for row in written]
