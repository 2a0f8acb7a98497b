"""Ack latency with the engine's work off the bot's machine: the ``ack`` benchmark with its worker
paused (SIGSTOP) from the moment its drafts are pending until its passes end, then resumed.

On one 2-core machine, the ``ack`` figures at 50 at once include the agents' work of every report
the acks start (research, writing, review, streamed progress, Slack posts) in the worker and the
Temporal server, on the same cores as the bot; the bare Bolt app it is set against starts nothing.
Paused, the starts are still made (and checked) and the workflows wait: what is left is the bot's
ack path and the engine's start, as when the engine's workers run on other machines. The clicks'
updates wait for the worker meanwhile; the acks do not.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import ack_latency
from benchmarks.harness import Figure


async def run(tmp: Path, quick: bool) -> list[Figure]:
    return await ack_latency.run(tmp, quick, worker_paused=True)
