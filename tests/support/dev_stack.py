"""``signoff dev`` as a test runs it: ``python -m tests.support.dev_stack <data dir> <sandbox port> <bot port>
<bot metrics port> <signoff dev arguments…>``.

Exactly the command line's ``signoff dev`` (``signoff.cli.main``), with its data in ``<data dir>``
instead of ./.data and its fixed ports (8080, 3000, 9465) moved to the given free ones, and those of
the Temporal dev server and the worker's metrics (7233, 8233, 9464) to free ones of its own, so a
test can run it beside a demo or another test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import signoff.cli
import signoff.dev
from signoff.temporal.devserver import free_port


def main(argv: list[str]) -> int:
    data_dir, sandbox_port, bot_port, bot_metrics_port, *dev_args = argv
    signoff.cli.DATA_DIR = Path(data_dir)
    signoff.dev.SANDBOX_PORT = int(sandbox_port)
    signoff.dev.BOT_PORT = int(bot_port)
    signoff.dev.BOT_METRICS_PORT = int(bot_metrics_port)
    signoff.dev.TEMPORAL_PORT = free_port()
    signoff.dev.TEMPORAL_UI_PORT = free_port()
    signoff.dev.WORKER_METRICS_PORT = free_port()
    return signoff.cli.main(["--env-file", os.devnull, "dev", *dev_args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
