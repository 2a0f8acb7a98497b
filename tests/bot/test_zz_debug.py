import asyncio
from pathlib import Path
from temporalio.testing import WorkflowEnvironment
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.contracts.workflow_io import Phase
from tests.support.bot import bot_settings
from tests.support.engines import running_stack, phase_of
from tests.support.flows import start_via_slack
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, REQUESTER, draft_messages

async def test_debug(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> None:
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    async with running_stack("restate", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        wid = (await start_via_slack(slack, bot.client, "Solar panels for farms", "/report")).id
        p = await phase_of(bot, wid, Phase.PENDING_APPROVAL)
        d = await slack.wait_for(lambda: draft_messages(slack, p.thread.ts))
        print("CLICK")
        await slack.click_button(REQUESTER, CHANNEL, d[-1]["ts"], action_ids.APPROVE)
        for i in range(15):
            await asyncio.sleep(1)
            print("EPH", [c for c in slack.calls if "Ephemeral" in str(c)][-2:])
        print("LOG", (tmp_path / "restate" / "server.log").read_text())
