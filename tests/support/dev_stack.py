"""``signoff dev`` as a test runs it: ``python -m tests.support.dev_stack <data dir> <sandbox port> <bot port>
<bot metrics port> <signoff dev arguments…>``.

Exactly the command line's ``signoff dev`` (``signoff.cli.main``), with its data in ``<data dir>``
instead of ./.data and its fixed ports (8080, 3000, 9465) moved to the given free ones, and those of
the Temporal dev server and the worker's metrics (7233, 8233, 9464) and the Restate server's (8180,
9070) to free ones of its own, so a test can run it beside a demo or another test. The Restate
service endpoint's (9080) is a free one chosen once per data directory and kept in it: Restate
resumes a run at the endpoint URL that started it, so a restarted demo serves at the same one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import signoff.cli
import signoff.dev
from signoff.temporal.devserver import free_port


def _kept_port(data_dir: Path, name: str) -> int:
    """A free port the first time, then the same one for this data directory."""
    kept = data_dir / f"{name}.port"
    if kept.is_file():
        return int(kept.read_text())
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    kept.write_text(str(port))
    return port


def main(argv: list[str]) -> int:
    data_dir, sandbox_port, bot_port, bot_metrics_port, *dev_args = argv
    signoff.cli.DATA_DIR = Path(data_dir)
    signoff.dev.SANDBOX_PORT = int(sandbox_port)
    signoff.dev.BOT_PORT = int(bot_port)
    signoff.dev.BOT_METRICS_PORT = int(bot_metrics_port)
    signoff.dev.TEMPORAL_PORT = free_port()
    signoff.dev.TEMPORAL_UI_PORT = free_port()
    signoff.dev.WORKER_METRICS_PORT = free_port()
    signoff.dev.RESTATE_INGRESS_PORT = free_port()
    signoff.dev.RESTATE_ADMIN_PORT = free_port()
    signoff.dev.RESTATE_SERVICE_PORT = _kept_port(Path(data_dir), "restate-service")
    return signoff.cli.main(["--env-file", os.devnull, "dev", *dev_args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
