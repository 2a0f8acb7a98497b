"""The DBOS configuration signoff uses (``SIGNOFF_ENGINE=dbos``): which system database, checked once at start.

``SIGNOFF_DATABASE_URL`` empty means SQLite in ``.data/signoff-dbos.sqlite`` under the working
directory: embedded, no server. Otherwise it names a SQLite file or a PostgreSQL database
(``signoff.config.settings`` has refused every other kind before this module sees it).

DBOS 3.4 reads no configuration by itself: ``DBOS()`` without ``config=`` is a TypeError (the
article's bare ``DBOS()`` predates that), ``dbos-config.yaml`` is read only by the ``dbos`` command
line, and ``DBOS_SYSTEM_DATABASE_URL`` only in DBOS Cloud. So code of one's own, the article's
included, runs on signoff's database with ``DBOS(config=dbos_config(settings, name=...))``, and the
``dbos`` command line (``dbos workflow list``) with ``-s`` and :func:`system_database_url`'s value.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import psycopg.conninfo
from dbos import DBOSConfig

from signoff.config.setting_types import driver_error_line
from signoff.config.settings import Settings, SettingsError, shown_url

DEFAULT_SQLITE_PATH = Path(".data") / "signoff-dbos.sqlite"
# Long enough for a server across a network, short enough that a wrong host fails a start promptly.
CONNECT_TIMEOUT_SECONDS = 5


class DatabaseUnreachable(SettingsError):
    """The system database cannot be used; the message names where it is, never a password."""


def system_database_url(settings: Settings) -> str:
    """The URL DBOS gets: the setting, or the SQLite default as an absolute path (so a later
    change of directory cannot move it)."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{(Path.cwd() / DEFAULT_SQLITE_PATH).resolve()}"


def dbos_config(settings: Settings, *, name: str = "signoff") -> DBOSConfig:
    """The ``config`` for ``DBOS(config=...)``; creates ``.data/`` for the SQLite default."""
    url = system_database_url(settings)
    if not settings.database_url:
        (Path.cwd() / DEFAULT_SQLITE_PATH).parent.mkdir(parents=True, exist_ok=True)
    return DBOSConfig(name=name, system_database_url=url)


def _postgres_where(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "the local socket"
    return f"{host}:{parts.port or 5432}"


def _database_missing(conninfo: str, name: str) -> bool:
    """Whether the server answers on its ``postgres`` database and has no database ``name``: then
    DBOS creates it at launch, as it does itself (connect error messages carry no SQLSTATE)."""
    maintenance = psycopg.conninfo.make_conninfo(conninfo, dbname="postgres")
    try:
        with psycopg.connect(maintenance, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
            found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    except psycopg.Error:
        return False
    return found is None


def _check_postgres(url: str) -> None:
    # psycopg speaks libpq's URLs; SQLAlchemy's driver suffix (+psycopg) is not part of them.
    conninfo = "postgresql" + url[url.index("://") :]
    try:
        with psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as err:
        if _database_missing(conninfo, urlsplit(url).path.lstrip("/")):
            return
        raise DatabaseUnreachable(
            f"cannot use the PostgreSQL database at {_postgres_where(url)} "
            f"(SIGNOFF_DATABASE_URL={shown_url(url)!r}): {driver_error_line(err, url)}"
        ) from None


def _check_sqlite(url: str) -> None:
    path = Path(url[len("sqlite:///") :].split("?")[0])
    if not path.parent.is_dir():
        raise DatabaseUnreachable(
            f"cannot use the SQLite database {str(path)!r} (SIGNOFF_DATABASE_URL): {str(path.parent)!r} is not a directory"
        )
    try:
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("SELECT 1")
    except sqlite3.Error as err:
        raise DatabaseUnreachable(
            f"cannot use the SQLite database {str(path)!r} (SIGNOFF_DATABASE_URL): {err}"
        ) from None


def check_database(url: str) -> None:
    """Connect once, so a database that cannot be used stops the start with one clear line
    (the caller exits 2) instead of DBOS retrying its connection at launch."""
    if url.startswith("sqlite"):
        _check_sqlite(url)
    else:
        _check_postgres(url)
