"""signoff/dbos/config.py: the DBOS configuration signoff uses, and the one connection that checks it at start."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from signoff.config.settings import Settings
from signoff.dbos.config import DEFAULT_SQLITE_PATH, DatabaseUnreachable, check_database, dbos_config
from signoff.temporal.devserver import free_port
from tests.support.postgres import database_url


def test_the_default_is_sqlite_under_dot_data_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = dbos_config(Settings.from_env({}))
    assert config == {"name": "signoff", "system_database_url": f"sqlite:///{tmp_path / DEFAULT_SQLITE_PATH}"}
    assert (tmp_path / ".data").is_dir()
    check_database(config["system_database_url"] or "")
    assert (tmp_path / DEFAULT_SQLITE_PATH).is_file()


def test_a_database_url_is_passed_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = "postgresql://signoff:pw@db.internal:5432/signoff"
    config = dbos_config(Settings.from_env({"SIGNOFF_DATABASE_URL": url}), name="article-pipeline")
    assert config == {"name": "article-pipeline", "system_database_url": url}
    assert not (tmp_path / ".data").exists()


def test_a_sqlite_file_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "dbos.sqlite"
    with pytest.raises(DatabaseUnreachable, match="is not a directory") as refused:
        check_database(f"sqlite:///{missing}")
    assert str(missing) in str(refused.value)


def test_an_unreachable_postgres_names_host_and_port_never_the_password() -> None:
    port = free_port()
    with pytest.raises(DatabaseUnreachable) as refused:
        check_database(f"postgresql+psycopg://signoff:hunter22@127.0.0.1:{port}/signoff")
    message = str(refused.value)
    assert message.startswith(f"cannot use the PostgreSQL database at 127.0.0.1:{port} (SIGNOFF_DATABASE_URL=")
    assert "hunter22" not in message and "signoff:***@" in message


@pytest.mark.process
def test_the_postgres_fixture_is_a_real_server(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql://")
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
        assert connection.info.server_version >= 100000


@pytest.mark.process
def test_check_database_on_a_real_server(postgres_url: str) -> None:
    check_database(postgres_url)
    # A database not created yet is fine: DBOS creates it at launch.
    check_database(database_url(postgres_url, "not_created_yet"))
    nobody = postgres_url.replace("postgres@", "nobody:hunter22@", 1)
    with pytest.raises(DatabaseUnreachable, match='role "nobody" does not exist') as refused:
        check_database(nobody)
    assert "hunter22" not in str(refused.value)
