"""The Restate server the tests share: the real one, from node_modules (``make install``), on its own
data directory. Without npm on the machine it cannot be installed, and those tests skip saying so;
with npm but no node_modules, they fail (``make install`` was not run)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest

from signoff.restate.server import RestateServer

NO_NPM = "the Restate engine needs Node.js and npm (make install puts the Restate server in node_modules/)"


def require_npm() -> None:
    if shutil.which("npm") is None:
        pytest.skip(NO_NPM)


@pytest.fixture(scope="session")
async def restate_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RestateServer]:
    require_npm()
    server = RestateServer(tmp_path_factory.mktemp("restate"))
    await server.start()
    try:
        yield server
    finally:
        server.stop()


# The Restate engine as this branch (restate-wiring) has it runs no workflow: the seam moved under it
# (``execute_activity() got an unexpected keyword argument 'policy'``); the restate-engine branch
# (ef2f44c, "Restate engine on the seam") fixes it, and with it these tests pass. Drop this mark
# where it is used once the two branches are merged: strict, an unexpected pass fails, to say so.
ENGINE_BEFORE_THE_SEAM = pytest.mark.xfail(
    strict=True, reason="the Restate engine on this branch predates the seam; restate-engine (ef2f44c) fixes it"
)
