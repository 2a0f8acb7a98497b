"""The bot's own Slack calls retry a 429 (after Retry-After) and a dropped connection, with slack_sdk's handlers."""

from __future__ import annotations

from bot.app import build_web_client
from bot.metrics import SlackCallCounter
from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_settings
from tests.support.slack import CHANNEL, REQUESTER


async def test_a_rate_limited_ephemeral_is_sent_after_retry_after(slack: SlackSandbox) -> None:
    client = build_web_client(bot_settings(slack))
    slack.faults.rate_limit("chat.postEphemeral", retry_after=1)
    response = await client.chat_postEphemeral(channel=CHANNEL, user=REQUESTER, text="Recorded your approval.")
    assert response["ok"]
    refused, sent = slack.calls_to("chat.postEphemeral")
    assert (refused.status, sent.status) == (429, 200)
    # The retry waited the Retry-After Slack gave (slack_sdk adds up to a second of jitter to it).
    assert sent.time - refused.time >= 1
    assert [e["text"] for e in slack.ephemerals(REQUESTER)] == ["Recorded your approval."]


async def test_the_worker_client_keeps_no_hidden_retries(slack: SlackSandbox) -> None:
    # The worker's retries belong to Temporal; only the bot's client has handlers.
    from signoff.worker import worker_slack_client

    assert worker_slack_client(bot_settings(slack)).retry_handlers == []
    # The bot's: the metrics' counter first (it never retries), then slack_sdk's two.
    counter, *retrying = build_web_client(bot_settings(slack)).retry_handlers
    assert isinstance(counter, SlackCallCounter) and len(retrying) == 2
