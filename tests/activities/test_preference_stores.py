"""What people set with ``/signoff`` behaves the same in both stores ``SIGNOFF_PREFERENCES`` may name:
the SQLite file (the default) and a PostgreSQL database (real, the session's server) that bot replicas
and workers on separate hosts share. Processes starting together create the tables without failing,
and the URL's password is never shown nor logged."""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from signoff.activities.preference_store import Away, PreferencesUnavailable
from signoff.activities.settings import check_preferences, preference_store
from signoff.config.settings import Settings, SettingsError
from signoff.temporal.devserver import free_port
from tests.support.preferences import new_database, with_password
from tests.support.slack import APPROVER_1, APPROVER_2, OUTSIDER

TODAY = date(2026, 12, 7)
PASSWORD = "s3cret-Pa55"
STARTING_TOGETHER = 8


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.process)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store of each kind, empty: a file, or a database of its own on the real server."""
    if request.param == "sqlite":
        return str(tmp_path / "preferences.sqlite")
    return new_database(request.getfixturevalue("postgres_url"))


def test_who_is_away_and_who_turned_dm_reminders_off(location: str) -> None:
    store = preference_store(location)
    assert store.away([APPROVER_1], TODAY) == [] and store.away([], TODAY) == []
    store.set_away(Away(APPROVER_1, TODAY + timedelta(days=3)))
    # Set again: the new date and delegate replace the old.
    store.set_away(Away(APPROVER_1, TODAY, APPROVER_2))
    store.set_away(Away(OUTSIDER, TODAY - timedelta(days=1)))
    store.set_away(Away(APPROVER_2, TODAY + timedelta(days=1)))
    # In the order asked, each once; an absence that ended is none.
    assert store.away([APPROVER_2, APPROVER_1, OUTSIDER, APPROVER_2], TODAY) == [
        Away(APPROVER_2, TODAY + timedelta(days=1)),
        Away(APPROVER_1, TODAY, APPROVER_2),
    ]
    assert store.away([APPROVER_1], TODAY + timedelta(days=1)) == []
    store.back(APPROVER_1)
    store.back(APPROVER_1)
    assert store.away([APPROVER_1, APPROVER_2], TODAY) == [Away(APPROVER_2, TODAY + timedelta(days=1))]

    assert store.dm_reminders(APPROVER_1)
    store.set_dm_reminders(APPROVER_1, False)
    store.set_dm_reminders(APPROVER_1, False)
    assert not store.dm_reminders(APPROVER_1) and store.dm_reminders(APPROVER_2)
    store.set_dm_reminders(APPROVER_1, True)
    assert store.dm_reminders(APPROVER_1)

    # Another store on the same location (another process, or another host for PostgreSQL) sees it all.
    assert preference_store(location).away([APPROVER_2], TODAY) == [Away(APPROVER_2, TODAY + timedelta(days=1))]


def test_processes_starting_together_all_find_the_tables(location: str) -> None:
    """Bot replicas and workers starting at once each make the tables on first use: none fails for it
    (on PostgreSQL, CREATE TABLE IF NOT EXISTS alone races and the losers fail)."""
    stores = [preference_store(location) for _ in range(STARTING_TOGETHER)]
    together = threading.Barrier(STARTING_TOGETHER)
    failures: list[BaseException] = []

    def first_use(index: int) -> None:
        try:
            together.wait()
            stores[index].set_dm_reminders(f"U0STORE{index}", False)
        except BaseException as err:  # reported below, with the others
            failures.append(err)

    threads = [threading.Thread(target=first_use, args=(index,)) for index in range(STARTING_TOGETHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert not any(stores[0].dm_reminders(f"U0STORE{index}") for index in range(STARTING_TOGETHER))


@pytest.mark.process
def test_the_password_is_never_shown_nor_logged(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    url = with_password(new_database(postgres_url), PASSWORD)
    caplog.set_level(logging.DEBUG)
    settings = Settings.from_env({"SIGNOFF_PREFERENCES": url})
    assert settings.preferences == url and PASSWORD not in repr(settings)

    check_preferences(url)
    store = preference_store(url)
    store.set_away(Away(APPROVER_1, TODAY))
    assert store.away([APPROVER_1], TODAY) == [Away(APPROVER_1, TODAY)]
    assert PASSWORD not in repr(store)

    # A server that cannot be reached (the URL in libpq's other spelling): the messages say where, with
    # the password starred.
    port = free_port()
    unreachable = f"postgres://signoff:{PASSWORD}@127.0.0.1:{port}/preferences"
    with pytest.raises(PreferencesUnavailable) as at_use:
        preference_store(unreachable).dm_reminders(APPROVER_1)
    with pytest.raises(SettingsError) as at_start:
        check_preferences(unreachable)
    for message in (str(at_use.value), str(at_start.value)):
        assert f"'postgres://signoff:***@127.0.0.1:{port}/preferences': connection failed" in message
        assert PASSWORD not in message
    assert at_use.value.__cause__ is None and at_use.value.__suppress_context__
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (
            f"postgresql://signoff:{PASSWORD}@db:port/preferences",
            "SIGNOFF_PREFERENCES='postgresql://signoff:***@db:port/preferences' is malformed",
        ),
        (
            f"mysql://signoff:{PASSWORD}@db/preferences",
            "SIGNOFF_PREFERENCES='mysql://signoff:***@db/preferences' is neither a file's path nor a PostgreSQL URL",
        ),
        ("/data/", "SIGNOFF_PREFERENCES='/data/' must name a file"),
    ],
)
def test_a_bad_location_is_refused_in_one_line_without_the_password(value: str, why: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SIGNOFF_PREFERENCES": value})
    assert str(refused.value).startswith(why)
    assert PASSWORD not in str(refused.value) and "\n" not in str(refused.value)


def test_the_default_and_a_file_stay_sqlite(tmp_path: Path) -> None:
    file = str(tmp_path / "preferences.sqlite")
    assert Settings.from_env({"SIGNOFF_PREFERENCES": file}).preferences == file
    preference_store(file).set_dm_reminders(APPROVER_1, False)
    assert Path(file).is_file()
    check_preferences(file)  # a file is left to its first use
