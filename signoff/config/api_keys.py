"""The HTTP API's bearer keys: ``SIGNOFF_API_KEYS`` (``name:secret,…``) and ``SIGNOFF_API_KEYS_FILE``
(TOML, keys that may be limited to channels), parsed into ``ApiKey`` values.

A key's name is what the audit and the logs show; its secret is never shown (``repr=False``). The
secret is also what signs the webhooks a key's requests send (``signoff.activities.webhooks``):
the caller holds it already, and it never travels.

The file::

    [keys.ci]
    secret = "…"                       # at least MIN_SECRET_CHARS characters
    channels = ["C0123ABCD"]           # optional: the only channels this key may ask in
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signoff.config.setting_types import SettingsError

# A name goes into workflow ids, memos and log lines: a short identifier, nothing to escape.
_KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
# A guessable secret is no secret: 128 bits of hex (or more) is the floor.
MIN_SECRET_CHARS = 32
KEYS_VARIABLE = "SIGNOFF_API_KEYS"
FILE_VARIABLE = "SIGNOFF_API_KEYS_FILE"


@dataclass(frozen=True)
class ApiKey:
    """One caller of the HTTP API. ``channels``: the only channels it may ask in (None: any)."""

    name: str
    secret: str = field(repr=False)
    channels: frozenset[str] | None = None

    def allows(self, channel: str | None) -> bool:
        return self.channels is None or channel in self.channels


def _checked(name: str, secret: str, where: str) -> tuple[str, str]:
    if not _KEY_NAME.match(name):
        raise SettingsError(f"{where}: key name {name!r} must be 1-64 letters, digits, '_', '.' or '-'")
    if len(secret) < MIN_SECRET_CHARS or any(char.isspace() for char in secret):
        # The secret itself is never echoed back.
        raise SettingsError(
            f"{where}: the secret of key {name!r} must be at least {MIN_SECRET_CHARS} characters, no spaces "
            "(e.g. `openssl rand -hex 32`)"
        )
    return name, secret


def parse_api_keys(raw: str) -> list[ApiKey]:
    """``name:secret,…`` (``SIGNOFF_API_KEYS``)."""
    keys = []
    for number, pair in enumerate((part.strip() for part in raw.split(",")), start=1):
        if not pair:
            continue
        name, colon, secret = pair.partition(":")
        if not colon:
            # Not echoed: it may be a secret given without its name.
            raise SettingsError(f"{KEYS_VARIABLE}: entry {number} is not name:secret")
        keys.append(ApiKey(*_checked(name.strip(), secret.strip(), KEYS_VARIABLE)))
    return keys


def load_api_keys_file(path: str) -> list[ApiKey]:
    """The keys of a TOML file (``SIGNOFF_API_KEYS_FILE``), each ``[keys.<name>]`` with a ``secret``
    and optionally ``channels``."""
    where = f"{FILE_VARIABLE}={path!r}"
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise SettingsError(f"{where}: cannot read it: {err.strerror or err}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SettingsError(f"{where}: not TOML: {err}") from None
    unknown = set(document) - {"keys"}
    if unknown:
        raise SettingsError(f"{where}: unknown table {sorted(unknown)[0]!r} (only [keys.<name>])")
    tables = document.get("keys", {})
    if not isinstance(tables, dict):
        raise SettingsError(f"{where}: keys must be tables, [keys.<name>]")
    return [_key_of_table(name, table, where) for name, table in tables.items()]


def _key_of_table(name: str, table: Any, where: str) -> ApiKey:
    if not isinstance(table, dict):
        raise SettingsError(f"{where}: keys.{name} must be a table with a secret")
    unknown = set(table) - {"secret", "channels"}
    if unknown:
        raise SettingsError(f"{where}: keys.{name}: unknown field {sorted(unknown)[0]!r} (secret, channels)")
    secret = table.get("secret")
    if not isinstance(secret, str):
        raise SettingsError(f"{where}: keys.{name} has no secret")
    channels = table.get("channels")
    if channels is not None:
        if not isinstance(channels, list) or not channels:
            raise SettingsError(f"{where}: keys.{name}.channels must be a non-empty list of channel ids")
        for channel in channels:
            if not isinstance(channel, str) or not _CONVERSATION_ID.match(channel):
                raise SettingsError(f"{where}: keys.{name}.channels: {channel!r} is not a channel id like C0123ABCD")
    return ApiKey(*_checked(name, secret, where), channels=frozenset(channels) if channels is not None else None)


def api_keys(keys: str | None, keys_file: str | None) -> tuple[ApiKey, ...]:
    """Every key from both settings; a name or a secret given twice is refused (one line)."""
    found = [*parse_api_keys(keys or ""), *(load_api_keys_file(keys_file) if keys_file else [])]
    names: set[str] = set()
    secrets: set[str] = set()
    for key in found:
        if key.name in names:
            raise SettingsError(f"{KEYS_VARIABLE} / {FILE_VARIABLE}: key name {key.name!r} is given twice")
        if key.secret in secrets:
            raise SettingsError(f"{KEYS_VARIABLE} / {FILE_VARIABLE}: key {key.name!r} reuses another key's secret")
        names.add(key.name)
        secrets.add(key.secret)
    return tuple(found)
