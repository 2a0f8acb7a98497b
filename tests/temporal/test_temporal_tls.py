"""Temporal over TLS, configured as in production: the real dev server behind a TLS-terminating proxy
(a CA and a server certificate made by the test), reached through the SDK's environment configuration.

A report goes end to end through Slack with the worker and the bot both connected over TLS; mTLS works
from a TOML profile; a CA that does not trust the server, or a missing file, stops ``signoff worker`` and
``signoff bot`` at start with exit code 2 and one clear line.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import TLSConfig

from bot.server import connect_temporal
from signoff.config.settings import Settings, SettingsError
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.connection import connect_client
from signoff.temporal.devserver import DevServer
from signoff.worker import connect_worker_client, serving_worker, worker_slack_client
from tests.support.bot import running_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.paths import ROOT
from tests.support.slack import APPROVER_1, CHANNEL, told
from tests.support.temporal import wait_for_phase
from tests.support.tls import Pki, make_pki, profile_toml, tls_proxy
from workflows import ReportGenerationWorkflow

pytestmark = [pytest.mark.process, pytest.mark.slow]

API_KEY = "temporal-api-key-never-printed"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), "cluster")


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Another CA: it signed nothing the proxy shows."""
    return make_pki(tmp_path_factory.mktemp("other-pki"), "other")


def settings_from(env: dict[str, str]) -> Settings:
    """Settings as ``signoff`` loads them: the TEMPORAL_* variables through the SDK's envconfig."""
    return Settings.from_env(env)


async def test_a_report_through_slack_with_worker_and_bot_over_tls(
    dev_server: DevServer, slack: SlackSandbox, pki: Pki
) -> None:
    async with tls_proxy(dev_server.address, pki) as proxy:
        settings = settings_from(
            {
                "TEMPORAL_ADDRESS": proxy.address,
                "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca_cert),
                "SIGNOFF_TASK_QUEUE": f"tls-{uuid.uuid4()}",
                "SIGNOFF_APPROVERS": APPROVER_1,
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_SIGNING_SECRET": slack.signing_secret,
                "SLACK_API_URL": slack.api_url,
            }
        )
        assert settings.temporal_access is not None and isinstance(settings.temporal_access.tls, TLSConfig)
        # The worker and the bot connect as `signoff worker` and `signoff bot` do.
        worker_client = await connect_worker_client(settings)
        bot_client = await connect_temporal(settings)
        assert proxy.connections >= 2, "both connected through the TLS proxy"
        async with (
            serving_worker(worker_client, settings, worker_slack_client(settings)),
            running_bot(slack, settings, bot_client),
        ):
            handle = await start_via_slack(slack, bot_client, "Solar panels for farms")
            _, draft = await waiting_draft(slack, handle)
            result = await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            assert result.acked, result
            await told(slack, APPROVER_1, "Recorded your approval of revision 1")
            report = await handle.result()
            assert "Solar panels" in report
            await wait_for_phase(handle, Phase.APPROVED)


async def test_mtls_from_a_toml_profile(dev_server: DevServer, pki: Pki, tmp_path: Path) -> None:
    async with tls_proxy(dev_server.address, pki, require_client_cert=True) as proxy:
        config = tmp_path / "temporal.toml"
        config.write_text(profile_toml("cluster", proxy.address, pki))
        env = {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "cluster", "SIGNOFF_TASK_QUEUE": "tls-mtls"}
        settings = settings_from(env)
        assert settings.temporal_address == proxy.address
        client = await connect_worker_client(settings)
        async with serving_worker(client, settings, worker_slack_client(settings)):
            handle = await client.start_workflow(
                ReportGenerationWorkflow.run,
                "Heat pumps",
                id=f"report-mtls-{uuid.uuid4()}",
                task_queue=settings.task_queue,
            )
            await wait_for_phase(handle, Phase.PENDING_APPROVAL, timeout=30)
            await handle.signal(ReportGenerationWorkflow.approve)
            assert "Heat pumps" in await handle.result()

        # The same profile without its client certificate: the server hangs up, and the message says why.
        config.write_text(profile_toml("cluster", proxy.address, pki, mtls=False))
        with pytest.raises(SettingsError, match="requires a client certificate"):
            await connect_client(settings_from(env))


async def spawn(command: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """``signoff <command>`` as a process (no .env, nothing of this environment but PATH), its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signoff.cli",
        "--env-file",
        "/dev/null",
        command,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def signoff(command: str, env: dict[str, str]) -> tuple[int, str]:
    """``signoff <command>`` run to its end: its exit code and everything it printed."""
    process = await spawn(command, env)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"signoff {command} did not exit") from None
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


BOT_ENV = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test-secret"}


async def test_a_ca_that_does_not_trust_the_server_stops_worker_and_bot(
    dev_server: DevServer, pki: Pki, other_pki: Pki
) -> None:
    async with tls_proxy(dev_server.address, pki) as proxy:
        env = {
            "TEMPORAL_ADDRESS": proxy.address,
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(other_pki.ca_cert),
            "TEMPORAL_API_KEY": API_KEY,
        }
        for command in ("worker", "bot"):
            code, output = await signoff(command, {**env, **BOT_ENV})
            assert code == 2, output
            assert (
                f"signoff {command}: TLS handshake failed: the server's certificate at {proxy.address} "
                f"is not trusted by the given CA ({other_pki.ca_cert} (TEMPORAL_TLS_SERVER_CA_CERT_PATH))"
            ) in output, output
            assert "Traceback" not in output and API_KEY not in output, output
            # Nothing half-started: the bot never listened, the worker never polled.
            assert "listening" not in output.lower(), output

        # The right CA: the worker is serving (and stops on SIGTERM like any deployment's).
        process = await spawn("worker", {**env, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca_cert)})
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            while line and b"Worker listening" not in line:
                line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert b"Worker listening" in line, "the worker exited before serving"
            assert API_KEY.encode() not in line
        finally:
            process.terminate()
            await process.wait()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/nonexistent/ca.pem"},
            "signoff: cannot read the server CA certificate /nonexistent/ca.pem (TEMPORAL_TLS_SERVER_CA_CERT_PATH): "
            "No such file or directory",
        ),
        (
            {"TEMPORAL_PROFILE": "production", "TEMPORAL_CONFIG_FILE": "{toml}"},
            "signoff: TEMPORAL_PROFILE=production: no such profile in {toml} (TEMPORAL_CONFIG_FILE)",
        ),
    ],
)
async def test_a_missing_file_or_profile_stops_the_worker(env: dict[str, str], message: str, tmp_path: Path) -> None:
    toml = tmp_path / "temporal.toml"
    toml.write_text('[profile.staging]\naddress = "staging.temporal.internal:7233"\n')
    env = {name: value.format(toml=toml) for name, value in env.items()}
    code, output = await signoff("worker", {**env, "TEMPORAL_API_KEY": API_KEY})
    assert code == 2, output
    assert message.format(toml=toml) in output, output
    assert "Traceback" not in output and API_KEY not in output, output


async def test_the_bot_still_starts_while_temporal_is_down(pki: Pki) -> None:
    """A Temporal that is not there (yet) is no reason to refuse Slack: the bot's client connects on first use."""
    settings = settings_from({"TEMPORAL_ADDRESS": "127.0.0.1:1", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca_cert)})
    client = await connect_temporal(settings)
    assert isinstance(client, Client)
    with pytest.raises(SettingsError, match=r"cannot reach Temporal at 127\.0\.0\.1:1 \(TEMPORAL_ADDRESS\)"):
        await connect_worker_client(settings)
