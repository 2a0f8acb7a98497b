"""Where a follow-up goes after the ack: the clicker only, in the channel or in the app's DM.

A click on a message is answered with an ephemeral message in that channel
(in the draft's thread when there is one); a click on the App Home, where
ephemeral messages can't be shown, with a message in the app's Messages tab.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from signoff.slack.action_ids import ModalMetadata

log = logging.getLogger(__name__)

# ModalMetadata.message_ts for a modal opened from the App Home (there is no message).
HOME = "home"


@dataclass(frozen=True)
class Where:
    """Where an interaction happened: a channel message, or the App Home."""

    user_id: str
    channel_id: str | None
    message_ts: str | None = None
    thread_ts: str | None = None

    @property
    def home(self) -> bool:
        return self.channel_id is None

    @property
    def direct(self) -> bool:
        """A click in the person's DM with the app (a DM reminder's buttons): not the request's channel."""
        return self.channel_id is not None and self.channel_id.startswith("D")

    @classmethod
    def of_action(cls, body: dict[str, Any]) -> Where:
        user_id = body["user"]["id"]
        container = body.get("container") or {}
        if container.get("type") == "view":
            return cls(user_id, None)
        message = body.get("message") or {}
        channel_id = container.get("channel_id") or (body.get("channel") or {}).get("id")
        return cls(
            user_id,
            channel_id,
            container.get("message_ts") or message.get("ts"),
            message.get("thread_ts"),
        )

    @classmethod
    def of_modal(cls, user_id: str, metadata: ModalMetadata) -> Where:
        if metadata.message_ts == HOME:
            return cls(user_id, None)
        return cls(user_id, metadata.channel_id, metadata.message_ts)

    def modal_metadata(self, workflow_id: str, revision: int, pool: str | None = None) -> ModalMetadata:
        return ModalMetadata(
            workflow_id=workflow_id,
            revision=revision,
            channel_id=self.channel_id or self.user_id,
            message_ts=self.message_ts if not self.home and self.message_ts else HOME,
            pool=pool,
        )


async def tell(client: AsyncWebClient, where: Where, text: str) -> None:
    """Show ``text`` (safe mrkdwn) to the user only; a Slack failure is logged, not raised."""
    try:
        if where.channel_id is None:  # the App Home (where.home): ephemeral messages can't be shown there
            await client.chat_postMessage(channel=where.user_id, text=text, unfurl_links=False)
        else:
            await client.chat_postEphemeral(
                channel=where.channel_id, user=where.user_id, text=text, thread_ts=where.thread_ts
            )
    except SlackApiError as err:
        log.warning("could not tell %s: %s", where.user_id, err.response.get("error"))
    except (aiohttp.ClientError, TimeoutError) as err:
        log.warning("could not reach Slack to tell %s: %s", where.user_id, err)
