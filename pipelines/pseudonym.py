"""Keyed hashing of logins, pupil ids and (IP, user agent) pairs, so none reaches the warehouse in clear."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

import polars as pl

from pipelines.errors import UserError
from pipelines.settings import Settings

# Hex characters kept of each HMAC-SHA256: 128 bits, no collision in any realistic population.
KEY_LENGTH = 32


def load_key(settings: Settings) -> bytes:
    """The HMAC key: from the environment, else from the secret file, created owner-only on first use."""
    if settings.pseudonym_key:
        return settings.pseudonym_key.encode()
    path = settings.key_file
    if path.exists():
        try:
            key = path.read_text().strip()
        except OSError as error:
            raise UserError(f"cannot read the pseudonymisation key {path}: {error.strerror}") from None
        if not key:
            raise UserError(f"the pseudonymisation key file {path} is empty")
        return key.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key.encode()


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of one value, as the hex prefix stored in the warehouse."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:KEY_LENGTH]


def _hash_unique(key: bytes, values: pl.Series, prefix: str) -> pl.Series:
    """Hash each distinct value once (there are far fewer visitors than lines), then map back."""
    distinct = values.unique().drop_nulls()
    hashed = [keyed_hash(key, prefix + value) for value in distinct.to_list()]
    mapping = pl.DataFrame({"value": distinct, "hashed": pl.Series(hashed, dtype=pl.String)})
    frame = pl.DataFrame({"value": values})
    return frame.join(mapping, on="value", how="left", maintain_order="left")["hashed"].alias(values.name)


def user_keys(key: bytes, logins: pl.Series) -> pl.Series:
    """Pseudonym of ENT logins; also used for directory user ids, loan recipients and pupil ids."""
    return _hash_unique(key, logins.cast(pl.String), "user:")


def anonymous_keys(key: bytes, addresses: pl.Series, user_agents: pl.Series) -> pl.Series:
    """Pseudonym of the (IP address, user agent) pair that identifies a visitor without login."""
    pairs = pl.DataFrame({"ip": addresses, "ua": user_agents.fill_null("")}).select(
        pl.concat_str(["ip", "ua"], separator="\t").alias("pair")
    )["pair"]
    return _hash_unique(key, pairs, "anon:").alias("visitor_key")
