"""The HTTP API: a request's thread, a decision's webhook, and long-polls held beside Slack's acks.

Three figures, each against a baseline measured in the same run:

* **POST → thread**: ``POST /v1/requests`` to the bot vs ``start_workflow("SignoffRequest")`` from
  this process with the input the API starts (the same fields, key name and callback), alternating, one at a time, each on a channel of its own (the
  worker keeps to Slack's 1 post/s per channel). Measured from the send to the sandbox's
  ``chat.postMessage`` of the thread's parent.
* **click → webhook**: an Approve click (signed ``block_actions`` to the bot) on each request made
  through the API, to its signed webhook arriving at a receiver on this machine; the baseline is
  the same click to the draft's ``chat.update`` (the decision applied, as Slack shows it).
* **acks beside long-polls**: ``/report help`` acks (Bolt's whole path, no workflow started), one at
  a time, with 200 ``GET /v1/requests/{id}?wait=60`` held open meanwhile, against the same acks
  without them, in alternating rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from benchmarks.drafts import bench_channels, draft_in_thread
from benchmarks.harness import (
    Figure,
    SignedClient,
    bot_child,
    children,
    click_body,
    compared,
    dev_server,
    log,
    new_trigger_id,
    ratio,
    response_sink,
    slash_body,
    summary,
    temporal_client,
    wait_http,
    worker_child,
)
from benchmarks.slack_tiers import slack_sandbox
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import DEFAULT_CHANNELS
from signoff.temporal.devserver import free_port

NAME = "api"
APPROVER = "U0APPROV1"
REQUESTER = "U0REQUEST"
KEY_NAME = "bench"
KEY_SECRET = "bench-secret-" + "0123456789abcdef" * 2
LONG_POLLS = 200
# Rounds of acks without, then with, the long-polls held.
ACK_ROUNDS = 4


def _request(title: str, channel: str, callback_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "body": "Roll out the new signing key tonight.",
        "channel": channel,
        "requester": REQUESTER,
        "approvers": [APPROVER],
    }
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


def _thread_posted(sandbox: SlackSandbox, start: int, channel: str) -> float | None:
    for call in sandbox.calls[start:]:
        if (
            call.method == "chat.postMessage"
            and call.params.get("channel") == channel
            and not call.params.get("thread_ts")
        ):
            return call.time
    return None


def _draft_approved(sandbox: SlackSandbox, start: int, ts: str) -> float | None:
    for call in sandbox.calls[start:]:
        if call.method == "chat.update" and call.params.get("ts") == ts and "Approved by" in str(call.params):
            return call.time
    return None


@contextlib.asynccontextmanager
async def _webhook_receiver() -> AsyncIterator[tuple[str, dict[str, float]]]:
    """A receiver on loopback: the arrival time of each request's first webhook, by request id."""
    arrived: dict[str, float] = {}

    async def receive(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        arrived.setdefault(str(body.get("id")), time.time())
        return web.Response(status=204)

    app = web.Application()
    app.add_routes([web.post("/hook", receive)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook", arrived
    finally:
        await runner.cleanup()


async def run(tmp: Path, quick: bool) -> list[Figure]:
    samples = 6 if quick else 30  # per path
    acks_per_round = 10 if quick else 50
    polls = 20 if quick else LONG_POLLS
    task_queue = f"bench-api-{uuid.uuid4().hex[:6]}"
    bot_port = free_port()
    channels = bench_channels(2 * samples + 2, prefix="C0APIBEN")
    keys = {"SIGNOFF_API_KEYS": f"{KEY_NAME}:{KEY_SECRET}"}
    api_post: list[float] = []
    raw_post: list[float] = []
    click_webhook: list[float] = []
    click_update: list[float] = []
    acks: dict[bool, list[float]] = {False: [], True: []}
    async with (
        dev_server(tmp) as server,
        slack_sandbox(channels=[*DEFAULT_CHANNELS, *channels]) as sandbox,
        response_sink(sandbox.api_url, sandbox.calls) as sink,
        _webhook_receiver() as (hook_url, arrived),
    ):
        worker = worker_child(
            tmp, server.address, task_queue, sandbox.api_url, {**keys, "SIGNOFF_WEBHOOK_ALLOW_PRIVATE": "true"}
        )
        bot = bot_child(
            tmp,
            bot_port,
            server.address,
            task_queue,
            sandbox.api_url,
            {**keys, "SIGNOFF_WEBHOOK_ALLOW_PRIVATE": "true", "SIGNOFF_API_RATE": "100000"},
        )
        async with children(worker, bot):
            base = f"http://127.0.0.1:{bot_port}"
            await wait_http(f"{base}/healthz", bot)
            client = await temporal_client(server.address)
            auth = {"Authorization": f"Bearer {KEY_SECRET}"}
            slack = SignedClient(limit=10)
            api = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
            made: list[tuple[str, str, str]] = []  # (request id, channel, thread ts) made through the API
            try:
                # POST → thread, alternating with raw starts; the first pair warms both paths up.
                for i, channel in enumerate(c.id for c in channels):
                    mark = len(sandbox.calls)
                    sent = time.time()
                    if i % 2 == 0:
                        async with api.post(
                            f"{base}/v1/requests",
                            json=_request(f"API request {i}", channel, hook_url),
                            headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                        ) as response:
                            answer = await response.json()
                            assert response.status == 201, answer
                        posted = await sandbox.wait_for(
                            partial(_thread_posted, sandbox, mark, channel), 60, interval=0.001
                        )
                        made.append((answer["id"], channel, answer["thread"]["ts"]))
                        if i >= 2:
                            api_post.append((posted - sent) * 1000)
                    else:
                        await client.start_workflow(
                            "SignoffRequest",
                            # The input the API starts: the same fields, its key's name and callback.
                            {**_request(f"Raw request {i}", channel, hook_url), "api_key": KEY_NAME},
                            id=f"bench-raw-{uuid.uuid4().hex}",
                            task_queue=task_queue,
                        )
                        posted = await sandbox.wait_for(
                            partial(_thread_posted, sandbox, mark, channel), 60, interval=0.001
                        )
                        if i >= 2:
                            raw_post.append((posted - sent) * 1000)
                log(f"api: {len(api_post)} POSTs and {len(raw_post)} raw starts to their threads")

                # Long-polls held on the pending requests while Bolt acks; alternating rounds.
                pending_ids = [request_id for request_id, _, _ in made]

                async def hold(request_id: str) -> None:
                    async with api.get(f"{base}/v1/requests/{request_id}?wait=60", headers=auth) as response:
                        await response.read()

                for round_number in range(ACK_ROUNDS):
                    with_polls = round_number % 2 == 1
                    held: list[asyncio.Task[None]] = []
                    if with_polls:
                        held = [asyncio.create_task(hold(pending_ids[n % len(pending_ids)])) for n in range(polls)]
                        await asyncio.sleep(1)  # every poll sent and parked before the acks are timed
                    for _ in range(acks_per_round):
                        seconds, status = await slack.post(
                            f"{base}/slack/events",
                            slash_body("help", trigger_id=new_trigger_id(), response_url=sink + "h"),
                        )
                        assert status == 200, f"/report help answered {status}"
                        acks[with_polls].append(seconds * 1000)
                    still_held = sum(not task.done() for task in held)
                    if with_polls:
                        log(f"api: {still_held} of {polls} long-polls still held after the round's acks")
                    for task in held:
                        task.cancel()
                    await asyncio.gather(*held, return_exceptions=True)

                # Click → webhook, and the same click → the draft's chat.update.
                for request_id, channel, ts in made:
                    draft = await draft_in_thread(sandbox.api_url, request_id, channel, ts)
                    mark = len(sandbox.calls)
                    sent = time.time()
                    _, status = await slack.post(
                        f"{base}/slack/events", click_body(draft, user_id=APPROVER, response_url=sink + "c")
                    )
                    assert status == 200, f"click answered {status}"
                    updated = await sandbox.wait_for(
                        partial(_draft_approved, sandbox, mark, draft.message_ts), 60, interval=0.001
                    )
                    delivered = await sandbox.wait_for(partial(arrived.get, request_id), 120, interval=0.001)
                    click_update.append((updated - sent) * 1000)
                    click_webhook.append((delivered - sent) * 1000)
                log(f"api: {len(click_webhook)} webhooks delivered")
            finally:
                await slack.close()
                await api.close()

    post, raw = summary(api_post), summary(raw_post)
    hook, update = summary(click_webhook), summary(click_update)
    quiet, busy = summary(acks[False]), summary(acks[True])
    post_ratio = ratio(post["p50"], raw["p50"])
    ack_ratio = ratio(busy["p99"], quiet["p99"])
    return [
        compared(
            NAME,
            "POST /v1/requests → thread in Slack",
            post,
            raw,
            ratio_of="p50",
            target="≤ 1.3× start_workflow(SignoffRequest)",
            met=post_ratio <= 1.3,
            note=(
                f"{post['n']} POSTs and {raw['n']} raw starts of the same input, alternating, one at a time, "
                f"each in a channel of its own; to the thread parent's chat.postMessage. p99 ratio "
                f"{ratio(post['p99'], raw['p99']):.2f}×."
            ),
            extra={"api": post, "raw": raw},
        ),
        compared(
            NAME,
            "Approve click → webhook delivered",
            hook,
            update,
            ratio_of="p50",
            note=(
                f"{hook['n']} clicks, one at a time, each on a request made through the API with a callback_url "
                "on loopback; baseline = the same click to the draft's chat.update (the decision applied). "
                "The webhook is the workflow's next activity after that update."
            ),
            extra={"webhook": hook, "draft_updated": update},
        ),
        compared(
            NAME,
            f"/report help ack with {polls} long-polls held",
            busy,
            quiet,
            target="p99 ≤ 1.5× the same acks without them",
            met=ack_ratio <= 1.5,
            note=(
                f"{ACK_ROUNDS} alternating rounds of {acks_per_round} acks, one at a time, without and with "
                f"{polls} GET ?wait=60 held on the API's pending requests; median ratio "
                f"{ratio(busy['p50'], quiet['p50']):.2f}×."
            ),
            extra={"with_long_polls": busy, "without": quiet},
        ),
    ]
