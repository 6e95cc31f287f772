"""How spreadsheet exports are written: encoding, separator, quoting, dates, numbers and true/false cells."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import polars as pl

from pipelines.errors import UserError

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SEPARATORS = (";", ",")

# Anchored shapes first: strptime alone would read "05/03/20" as the year 20.
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
FRENCH_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"
WHOLE_NUMBER = r"^\d+$"
# French spreadsheets write decimals with a comma (48,769557).
DECIMAL_NUMBER = r"^[+-]?\d+([.,]\d+)?$"
TRUE_WORDS = ("true", "vrai", "oui", "1")
FALSE_WORDS = ("false", "faux", "non", "0")


@dataclass(frozen=True)
class CsvRows:
    """The header and the non-blank data rows of one CSV file, each with the physical line it starts on."""

    header: list[str]
    header_line: int
    rows: list[list[str]]
    line_numbers: list[int]
    separator: str


def decode_csv_bytes(data: bytes, source_file: str) -> str:
    """Text of an export: UTF-8 with a BOM, else valid UTF-8, else Windows-1252 (what Excel writes in France)."""
    if data.startswith(UTF16_BOMS):
        raise UserError(f"{source_file}: UTF-16 text is not supported; export it as CSV (UTF-8 or Windows-1252)")
    if b"\x00" in data:
        raise UserError(f"{source_file}: not a CSV text file (it holds binary data)")
    if data.startswith(UTF8_BOM):
        encoding = "utf-8-sig"
    else:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "cp1252"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise UserError(f"{source_file}: not readable as {encoding} text (byte {error.start})") from None


def detect_separator(header_line: str, source_file: str) -> str:
    """The separator of a file: whichever of ';' and ',' occurs more often in its header, outside quotes."""
    unquoted = header_line.split('"')[::2]
    counts = {separator: sum(part.count(separator) for part in unquoted) for separator in SEPARATORS}
    separator = max(SEPARATORS, key=counts.__getitem__)
    if counts[separator] == 0:
        raise UserError(f"{source_file}: no ';' or ',' separator in the header line")
    return separator


def read_csv_rows(text: str, source_file: str) -> CsvRows:
    """Split a CSV text into header and rows; blank rows (no value at all) are neither kept nor counted."""
    lines = io.StringIO(text, newline="")
    header_text = next((line for line in lines if line.strip()), "")
    if not header_text:
        raise UserError(f"{source_file}: the file is empty (no header line)")
    separator = detect_separator(header_text, source_file)
    lines.seek(0)
    reader = csv.reader(lines, delimiter=separator, skipinitialspace=True, strict=False)
    rows, line_numbers, previous_line = [], [], 0
    try:
        for row in reader:
            if any(field.strip() for field in row):
                rows.append(row)
                line_numbers.append(previous_line + 1)
            previous_line = reader.line_num
    except csv.Error as error:
        raise UserError(f"{source_file}: line {previous_line + 1}: {error}") from None
    if not rows:
        raise UserError(f"{source_file}: no header line (the file holds only separators)")
    return CsvRows(rows[0], line_numbers[0], rows[1:], line_numbers[1:], separator)


def csv_line(fields: list[str], separator: str) -> str:
    """One row written back as CSV text with the file's separator, quoting only where needed."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="").writerow(fields)
    return buffer.getvalue()


def parse_dates(values: pl.Expr) -> pl.Expr:
    """Dates written YYYY-MM-DD or DD/MM/YYYY (both may occur in one file); null when neither."""
    iso = pl.when(values.str.contains(ISO_DATE)).then(values.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    french = pl.when(values.str.contains(FRENCH_DATE)).then(values.str.strptime(pl.Date, "%d/%m/%Y", strict=False))
    return pl.coalesce(iso, french)


def parse_whole_numbers(values: pl.Expr) -> pl.Expr:
    """Counts written as plain digits; null for anything else."""
    return pl.when(values.str.contains(WHOLE_NUMBER)).then(values.cast(pl.Int32, strict=False))


def parse_decimals(values: pl.Expr) -> pl.Expr:
    """Decimal numbers with a point or a French comma; null for anything else."""
    with_point = values.str.replace(",", ".", literal=True)
    return pl.when(values.str.contains(DECIMAL_NUMBER)).then(with_point.cast(pl.Float64))


def parse_flags(values: pl.Expr) -> pl.Expr:
    """True/false cells as spreadsheets write them (true/false, VRAI/FAUX, oui/non, 1/0); null for anything else."""
    words = values.str.to_lowercase()
    return pl.when(words.is_in(TRUE_WORDS)).then(True).when(words.is_in(FALSE_WORDS)).then(False)
