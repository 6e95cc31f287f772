"""Raw files as the ingestion sees them: what was found, what came of it, and their decompressed content.

A raw file is plain or gzip text whatever its name (gzip is told by its magic bytes). Its
`file_id` is the first 16 hex characters of the SHA-256 of its decompressed content, so a
gzip file and a plain copy of the same log are the same content. Gzip is read with ISA-L
(python-isal), which decompresses the same format about 2.5 times faster than zlib.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from isal import igzip, isal_zlib

# The folders of raw/ and what each holds.
KINDS = ("logs", "directory", "reference", "loans", "needs")
GZIP_MAGIC = b"\x1f\x8b"
# Decompressed bytes read at a time: large enough for vectorised parsing (about 30,000 lines), small
# enough to keep memory flat (parsing a chunk takes several times its size, and up to two are parsed at once).
BLOCK_BYTES = 8 * 1024 * 1024
# Content up to this size is kept from the hashing pass, so that it is not decompressed and hashed twice;
# a larger file is read again (two files ingested at once then hold at most twice this).
KEPT_CONTENT_BYTES = 256 * 1024 * 1024
# Statuses of a file's result; only the first two are recorded in the ledger.
INGESTED, SKIPPED_DUPLICATE, PROBLEM = "ingested", "skipped_duplicate", "problem"
# A NUL byte this early means a binary file (image, archive, UTF-16 text), not a log or an export.
TEXT_SNIFF_BYTES = 8192


class UnusableFile(Exception):
    """A raw file that cannot be ingested at all (unreadable, corrupt gzip, empty, not text)."""


@dataclass(frozen=True)
class RawFile:
    """A raw file found new or changed: `path` is relative to raw/, e.g. `logs/access.log-20200324.gz`."""

    path: str
    kind: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FileResult:
    """What ingesting one raw file gave: its content id, its line counts, and where its parts wait.

    `status` is `ingested`, `skipped_duplicate` or `problem` (then `problem` says why, in one line).
    `staging` is the folder, relative to the warehouse, holding the Parquet parts until `record` places them.
    """

    path: str
    kind: str
    size: int
    mtime_ns: int
    file_id: str | None = None
    status: str = INGESTED
    lines_read: int = 0
    lines_accepted: int = 0
    lines_rejected: int = 0
    staging: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Fingerprint:
    """The identity of a file's content, read once from start to end; `blocks` is that content when kept."""

    file_id: str
    content_bytes: int
    size: int
    mtime_ns: int
    blocks: tuple[bytes, ...] | None = field(default=None, repr=False, compare=False)


@contextmanager
def open_content(path: Path) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """The decompressed content of a raw file and the status of the file as opened."""
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise UnusableFile(f"cannot be read ({error.strerror or error})") from None
    with handle:
        status = os.fstat(handle.fileno())
        is_gzip = _read(handle, len(GZIP_MAGIC)) == GZIP_MAGIC
        handle.seek(0)
        if not is_gzip:
            yield handle, status
            return
        with igzip.IGzipFile(fileobj=handle, mode="rb") as content:
            yield content, status


def reading_order(raw_dir: Path, raw_files: list[RawFile]) -> list[RawFile]:
    """The files, most content first: readers taking them in turn then finish at about the same time."""
    return sorted(raw_files, key=lambda raw_file: -content_size(raw_dir / raw_file.path, raw_file.size))


def content_size(path: Path, size: int) -> int:
    """About how many bytes a raw file holds decompressed: what a gzip file records of it, else its `size`."""
    if not path.is_file():  # opening a named pipe would wait for a writer
        return size
    try:
        with open(path, "rb") as handle:
            if handle.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
                return size
            handle.seek(-4, os.SEEK_END)
            return int.from_bytes(handle.read(4), "little")  # ISIZE: the size modulo 4 GiB, enough to order files
    except OSError:  # unreadable, or too short to be gzip: its reading reports that
        return size


def read_blocks(content: BinaryIO, limit: int | None = None) -> Iterator[bytes]:
    """Blocks of decompressed content, up to `limit` bytes in all; read errors become UnusableFile."""
    remaining = limit
    while remaining is None or remaining > 0:
        size = BLOCK_BYTES if remaining is None else min(BLOCK_BYTES, remaining)
        block = _read(content, size)
        if not block:
            return
        if remaining is not None:
            remaining -= len(block)
        yield block


def _read(content: BinaryIO, size: int) -> bytes:
    """Read up to `size` bytes, naming what went wrong in one line."""
    try:
        return content.read(size)
    except (gzip.BadGzipFile, EOFError, zlib.error, isal_zlib.error) as error:
        raise UnusableFile(f"corrupt gzip file ({error})") from None
    except OSError as error:
        raise UnusableFile(f"cannot be read ({error.strerror or error})") from None


def fingerprint(path: Path) -> Fingerprint:
    """Hash the whole decompressed content; an empty or binary file raises UnusableFile."""
    digest = hashlib.sha256()
    content_bytes = 0
    kept: list[bytes] | None = []
    with open_content(path) as (content, status):
        for block in read_blocks(content):
            if content_bytes == 0 and b"\x00" in block[:TEXT_SNIFF_BYTES]:
                raise UnusableFile("not a text file")
            digest.update(block)
            content_bytes += len(block)
            if kept is not None and content_bytes <= KEPT_CONTENT_BYTES:
                kept.append(block)
            else:
                kept = None
    if content_bytes == 0:
        raise UnusableFile("empty file")
    blocks = tuple(kept) if kept is not None else None
    return Fingerprint(digest.hexdigest()[:16], content_bytes, status.st_size, status.st_mtime_ns, blocks)


def read_line_chunks(path: Path, expected: Fingerprint) -> Iterator[bytes]:
    """The content again, in chunks cut after a newline; raises UnusableFile if it changed meanwhile."""
    pending = b""
    for block in _content_again(path, expected):
        cut = block.rfind(b"\n") + 1
        if not cut:  # no line ends in this block: all of it waits for the next one
            pending += block
            continue
        # One copy at most: the block itself when it ends a line and nothing was pending.
        yield block if not pending and cut == len(block) else b"".join((pending, memoryview(block)[:cut]))
        pending = block[cut:]
    if pending:
        yield pending


def _content_again(path: Path, expected: Fingerprint) -> Iterator[bytes]:
    """The blocks of the content: those kept when it was hashed, or read and hashed again to check them."""
    if expected.blocks is not None:
        yield from expected.blocks
        return
    digest = hashlib.sha256()
    with open_content(path) as (content, _status):
        for block in read_blocks(content, limit=expected.content_bytes):
            digest.update(block)
            yield block
    if digest.hexdigest()[:16] != expected.file_id:
        raise UnusableFile("changed while being read (it will be read again next run)")
