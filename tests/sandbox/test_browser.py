"""The sandbox page in a real browser, against a small bolt app (not the signoff bot).

A person types a slash command, sees the app's message arrive live, clicks its
buttons (one behind a confirm dialog), fills a modal that the app first refuses
inline, switches who they are and sees only their own ephemerals, and opens the
App Home.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect
from slack_bolt.async_app import AsyncApp

from signoff.sandbox import SlackSandbox
from tests.support.browser import open_sandbox, requires_chromium, send, switch_user
from tests.support.slack import APPROVER_1, CHANNEL, OUTSIDER, REQUESTER, text_input_modal, web_client
from tests.support.web import bolt_app, bolt_handler, serving_events

pytestmark = [pytest.mark.browser, requires_chromium]


def demo_app(sb: SlackSandbox) -> AsyncApp:
    app = bolt_app(sb)

    @app.command("/demo")
    async def on_demo(ack, command, client):
        await ack(f"Working on {command['text']}…")
        await client.chat_postMessage(
            channel=command["channel_id"],
            text=f"Request from <@{command['user_id']}>",
            blocks=[
                {"type": "header", "text": {"type": "plain_text", "text": f"Request: {command['text']}"}},
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*Bold* and _italic_ by <@{command['user_id']}> for <!subteam^S0LEADS>: "
                        "`code`, <https://example.com/doc|the doc>, &lt;script&gt;alert(1)&lt;/script&gt;",
                    },
                },
                {"type": "divider"},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "Waiting for a decision"}]},
                {
                    "type": "actions",
                    "block_id": "decide",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "approve",
                            "style": "primary",
                            "value": "ok",
                            "text": {"type": "plain_text", "text": "Approve"},
                        },
                        {
                            "type": "button",
                            "action_id": "notes",
                            "value": "notes",
                            "text": {"type": "plain_text", "text": "Add notes"},
                        },
                        {
                            "type": "button",
                            "action_id": "reject",
                            "style": "danger",
                            "value": "no",
                            "text": {"type": "plain_text", "text": "Reject"},
                            "confirm": {
                                "title": {"type": "plain_text", "text": "Reject this?"},
                                "text": {"type": "mrkdwn", "text": "It cannot be undone."},
                                "confirm": {"type": "plain_text", "text": "Reject"},
                                "deny": {"type": "plain_text", "text": "Keep it"},
                                "style": "danger",
                            },
                        },
                    ],
                },
            ],
        )

    async def decide(body, client, verdict: str) -> None:
        container = body["container"]
        await client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"{verdict} by <@{body['user']['id']}>",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": f"*{verdict}* by <@{body['user']['id']}>"}}],
        )

    @app.action("approve")
    async def on_approve(ack, body, client):
        await ack()
        if body["user"]["id"] == REQUESTER:
            await client.chat_postEphemeral(
                channel=body["container"]["channel_id"], user=REQUESTER, text="You cannot approve your own request."
            )
            return
        await decide(body, client, "Approved")

    @app.action("reject")
    async def on_reject(ack, body, client):
        await ack()
        await decide(body, client, "Rejected")

    @app.action("notes")
    async def on_notes(ack, body, client):
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=text_input_modal(
                "Notes",
                "What should change?",
                block_id="notes",
                callback_id="notes_modal",
                private_metadata=f"{body['container']['channel_id']}|{body['container']['message_ts']}",
                multiline=True,
            ),
        )

    @app.view("notes_modal")
    async def on_notes_submitted(ack, view, body, client):
        text = view["state"]["values"]["notes"]["text"]["value"] or ""
        if len(text.strip()) < 5:
            await ack(response_action="errors", errors={"notes": "Say a bit more (5 characters or more)."})
            return
        await ack()
        channel, ts = view["private_metadata"].split("|")
        await client.chat_postMessage(channel=channel, thread_ts=ts, text=f"Notes from <@{body['user']['id']}>: {text}")

    @app.event("app_home_opened")
    async def on_home(event, client):
        await client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "Demo home"}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": f"Hello <@{event['user']}>"}},
                ],
            },
        )

    return app


@pytest.fixture
async def sandbox_with_app() -> AsyncIterator[SlackSandbox]:
    async with SlackSandbox() as sb, serving_events(bolt_handler(demo_app(sb))) as url:
        sb.request_url = url
        yield sb


async def test_slash_command_buttons_modal_ephemerals_and_home(page: Page, sandbox_with_app: SlackSandbox) -> None:
    sb = sandbox_with_app
    await open_sandbox(page, sb.url, REQUESTER)
    await expect(page.get_by_test_id("channel-title")).to_have_text("#general")

    # A slash command from the composer: the ack is an ephemeral, the message arrives live.
    await send(page, "/demo Budget 2025")
    channel = page.get_by_test_id("messages")
    await expect(channel.get_by_test_id("message").filter(has_text="Request: Budget 2025")).to_be_visible()
    ts = await channel.get_by_test_id("message").filter(has_text="Request: Budget 2025").get_attribute("data-ts")
    message = channel.locator(f'[data-testid="message"][data-ts="{ts}"]')  # the same message after edits
    assert sb.deliveries[0].kind == "slash_commands" and sb.deliveries[0].transport == "http"
    mine = page.get_by_test_id("ephemeral").filter(has_text="Working on Budget 2025")
    await expect(mine).to_be_visible()
    await expect(mine.get_by_test_id("only-you")).to_have_text(re.compile("Only visible to you"))

    # Block Kit: header, mrkdwn with bold/italic/code/link/mentions, entities shown as text only.
    await expect(message.locator("h3")).to_have_text("Request: Budget 2025")
    section = message.get_by_test_id("block-section")
    await expect(section.locator("b")).to_have_text("Bold")
    await expect(section.locator("i")).to_have_text("italic")
    await expect(section.locator("code")).to_have_text("code")
    await expect(section.get_by_role("link", name="the doc")).to_have_attribute("href", "https://example.com/doc")
    await expect(section.get_by_test_id("mention")).to_have_text(["@Riley Requester", "@leads"])
    await expect(section).to_contain_text("<script>alert(1)</script>")
    assert await message.locator("script").count() == 0
    await expect(message.get_by_test_id("block-divider")).to_have_count(1)
    await expect(message.get_by_test_id("block-context")).to_have_text("Waiting for a decision")
    await expect(message.get_by_role("button", name="Approve", exact=True)).to_have_class(re.compile("primary"))
    await expect(message.get_by_role("button", name="Reject")).to_have_class(re.compile("danger"))

    # The requester may not approve: only they see the refusal.
    await message.get_by_role("button", name="Approve", exact=True).click()
    refusal = page.get_by_test_id("ephemeral").filter(has_text="You cannot approve your own request.")
    await expect(refusal).to_be_visible()

    # Another person: the requester's ephemerals are gone, the message is the same.
    await switch_user(page, APPROVER_1)
    await expect(page.get_by_test_id("ephemeral")).to_have_count(0)
    await expect(message).to_be_visible()

    # A modal: refused inline, then accepted; the notes land in a thread, opened from its reply count.
    await message.get_by_role("button", name="Add notes").click()
    modal = page.get_by_test_id("modal")
    await expect(modal.get_by_test_id("modal-title")).to_have_text("Notes")
    notes = modal.get_by_label("What should change?")
    await notes.fill("meh")
    await modal.get_by_test_id("modal-submit").click()
    await expect(modal.get_by_test_id("input-error")).to_have_text("Say a bit more (5 characters or more).")
    await expect(notes).to_have_value("meh")
    await notes.fill("Add the Q3 numbers")
    await modal.get_by_test_id("modal-submit").click()
    await expect(modal).to_have_count(0)
    await message.get_by_test_id("reply-count").click()
    thread = page.get_by_test_id("thread")
    await expect(thread.get_by_test_id("message").last).to_contain_text(
        "Notes from @Avery Approver: Add the Q3 numbers"
    )
    await expect(message.get_by_test_id("reply-count")).to_have_text(re.compile("1 reply"))

    # A reply typed in the thread is a message from this person, escaped like Slack does.
    await page.get_by_test_id("thread-composer").fill("Looks good <b>now</b>")
    await page.get_by_test_id("thread-send").click()
    await expect(thread.get_by_test_id("message").last).to_contain_text("Looks good <b>now</b>")
    await expect(message.get_by_test_id("reply-count")).to_have_text(re.compile("2 replies"))

    # Reject sits behind a confirm dialog: "Keep it" sends nothing, "Reject" does.
    delivered = len(sb.deliveries)
    await message.get_by_role("button", name="Reject").click()
    dialog = page.get_by_test_id("confirm-dialog")
    await expect(dialog).to_contain_text("It cannot be undone.")
    await dialog.get_by_role("button", name="Keep it").click()
    await expect(dialog).to_have_count(0)
    assert len(sb.deliveries) == delivered, "denying the confirm dialog sends nothing"
    await message.get_by_role("button", name="Approve", exact=True).click()
    await expect(message).to_contain_text("Approved by @Avery Approver")
    await expect(message.get_by_test_id("edited")).to_be_visible()
    await expect(message.get_by_role("button")).to_have_count(1)  # only the reply count is left

    # Confirming the dialog does send the click.
    await send(page, "/demo Travel policy")
    other = channel.get_by_test_id("message").filter(has_text="Request: Travel policy")
    await other.get_by_role("button", name="Reject").click()
    await dialog.get_by_role("button", name="Reject").click()
    await expect(channel.get_by_test_id("message").filter(has_text="Rejected by @Avery Approver")).to_be_visible()

    # The outsider sees the channel but none of the others' ephemerals.
    await switch_user(page, OUTSIDER)
    await expect(page.get_by_test_id("channel-approvals")).to_have_count(0)
    await expect(page.get_by_test_id("ephemeral")).to_have_count(0)
    await expect(channel.get_by_test_id("message").filter(has_text="Approved by @Avery Approver")).to_be_visible()

    # App Home: opening it sends app_home_opened; the published view shows up for this person.
    await page.get_by_test_id("app-home").click()
    home = page.get_by_test_id("home")
    await expect(home.locator("h3")).to_have_text("Demo home")
    await expect(home).to_contain_text("Hello @Oscar Outsider")
    assert sb.home_view(OUTSIDER) is not None and sb.home_view(REQUESTER) is None


async def test_updates_from_the_app_appear_live_without_reload(page: Page, sandbox_with_app: SlackSandbox) -> None:
    sb = sandbox_with_app
    await open_sandbox(page, sb.url, APPROVER_1)
    client = web_client(sb)
    posted = await client.chat_postMessage(channel=CHANNEL, text="First *draft*")
    message = page.locator(f'[data-testid="message"][data-ts="{posted["ts"]}"]')
    await expect(message).to_contain_text("First draft")
    await expect(message.locator("b")).to_have_text("draft")
    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="Second draft")
    await expect(page.get_by_test_id("message").filter(has_text="Second draft")).to_be_visible()
    await client.chat_postEphemeral(channel=CHANNEL, user=APPROVER_1, text="Just for Avery")
    await expect(page.get_by_test_id("ephemeral")).to_have_text(re.compile("Just for Avery"))
    await client.chat_postEphemeral(channel=CHANNEL, user=REQUESTER, text="Just for Riley")
    await client.chat_postMessage(channel=CHANNEL, thread_ts=posted["ts"], text="A reply")
    await expect(message.get_by_test_id("reply-count")).to_have_text(re.compile("1 reply"))
    await expect(page.get_by_test_id("ephemeral")).to_have_count(1)
    await page.get_by_test_id("app-home").click()
    await expect(page.get_by_test_id("home")).to_contain_text("Hello @Avery Approver")
    await client.views_publish(
        user_id=APPROVER_1,
        view={
            "type": "home",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Published while you looked"}}],
        },
    )
    await expect(page.get_by_test_id("home")).to_contain_text("Published while you looked")
    sb.workspace.delete_message(CHANNEL, posted["ts"])
    await page.get_by_test_id("channel-general").click()
    await expect(page.get_by_test_id("message")).to_have_count(0)
    await client.conversations_setTopic(channel=CHANNEL, topic="Set while you looked")
    await expect(page.locator("#channel-topic")).to_have_text("Set while you looked")
    await expect(page.get_by_test_id("message")).to_have_text(re.compile("set the channel topic: Set while you looked"))
