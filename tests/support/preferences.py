"""Where a test keeps what people set with ``/signoff``: a PostgreSQL database of its own on the
session's server (``postgres_url``), so no test sees another's away or opt-out."""

from __future__ import annotations

import uuid

import psycopg

from tests.support.postgres import database_url


def new_database(server_url: str) -> str:
    """A new, empty database on the server at ``server_url``: its URL."""
    name = f"preferences_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return database_url(server_url, name)


def with_password(url: str, password: str) -> str:
    """``url`` (``postgresql://user@host…``) with ``password`` for its user: the tests' server trusts
    every local connection, so it connects all the same."""
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{password}@{host}"
