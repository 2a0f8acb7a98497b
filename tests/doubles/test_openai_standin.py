"""The OpenAI API stand-in, driven by the real openai client and the Agents SDK."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import openai
import pytest
from agents import Agent, ModelBehaviorError, OpenAIProvider, RunConfig, Runner
from openai import AsyncOpenAI

from signoff.models.offline import OFFLINE_LABEL
from tests.doubles.openai_standin import MALFORMED_TEXT, OpenAIStandIn, StandInCall
from tests.support.paths import ROOT
from tests.support.waiting import eventually
from workflows.agents import ReviewVerdict

WRITER = "You are signoff's writer agent.\nWrite the report."
REVIEWER = "You are signoff's reviewer agent.\nReview the draft."
WRITER_INPUT = "Topic: Heat pumps in old houses\n\nResearch:\n- insulation matters"
REVIEWER_INPUT = "Topic: Heat pumps in old houses\n\nDraft:\n## Summary\nHeat pumps are fine."


@pytest.fixture
async def standin() -> AsyncIterator[OpenAIStandIn]:
    async with OpenAIStandIn() as server:
        yield server


def client(server: OpenAIStandIn, **kwargs) -> AsyncOpenAI:
    kwargs.setdefault("api_key", server.api_key)
    kwargs.setdefault("max_retries", 0)
    return AsyncOpenAI(base_url=server.base_url, **kwargs)


def run_config(server: OpenAIStandIn, use_responses: bool) -> RunConfig:
    provider = OpenAIProvider(api_key=server.api_key, base_url=server.base_url, use_responses=use_responses)
    return RunConfig(model_provider=provider, tracing_disabled=True)


def reviewer_agent() -> Agent:
    return Agent(name="Reviewer", instructions=REVIEWER, output_type=ReviewVerdict, model="gpt-4o")


# --------------------------------------------------------------------------- raw client


async def test_responses_api_with_the_real_client(standin: OpenAIStandIn) -> None:
    assert standin.base_url.startswith("http://127.0.0.1:") and standin.base_url.endswith("/v1")
    response = await client(standin).responses.create(model="gpt-test", instructions=WRITER, input=WRITER_INPUT)
    assert response.id.startswith("resp_") and response.model == "gpt-test"
    assert response.status == "completed"
    assert response.output_text.startswith(OFFLINE_LABEL)
    assert "Heat pumps" in response.output_text
    assert response.usage is not None and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


async def test_chat_completions_with_the_real_client(standin: OpenAIStandIn) -> None:
    completion = await client(standin).chat.completions.create(
        model="gpt-test",
        messages=[{"role": "system", "content": WRITER}, {"role": "user", "content": WRITER_INPUT}],
    )
    assert completion.id.startswith("chatcmpl") and completion.object == "chat.completion"
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "stop"
    assert message.role == "assistant" and (message.content or "").startswith(OFFLINE_LABEL)
    assert completion.usage is not None and completion.usage.completion_tokens > 0


async def test_streaming_with_the_real_client(standin: OpenAIStandIn) -> None:
    api = client(standin)
    stream = await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT, stream=True)
    events = [event async for event in stream]
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == events[-1].response.output_text

    chunks = await api.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": WRITER}, {"role": "user", "content": WRITER_INPUT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts = [chunk async for chunk in chunks]
    text = "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
    assert text.startswith(OFFLINE_LABEL)
    assert parts[-1].usage is not None and parts[-1].usage.total_tokens > 0


# --------------------------------------------------------------------------- Agents SDK


@pytest.mark.parametrize("use_responses", [True, False], ids=["responses", "chat_completions"])
async def test_agents_sdk_plain_and_structured_output(standin: OpenAIStandIn, use_responses: bool) -> None:
    config = run_config(standin, use_responses)
    writer = Agent(name="Writer", instructions=WRITER, model="gpt-4o")
    draft = (await Runner.run(writer, WRITER_INPUT, run_config=config)).final_output
    assert draft.startswith(OFFLINE_LABEL) and "## Risks" not in draft

    result = await Runner.run(
        reviewer_agent(), f"Topic: Heat pumps in old houses\n\nDraft:\n{draft}", run_config=config
    )
    verdict = result.final_output
    assert isinstance(verdict, ReviewVerdict)
    assert verdict.approved is False and "Risks" in verdict.feedback
    assert [(c.role, c.model, c.status) for c in standin.calls] == [
        ("writer", "gpt-4o", "ok"),
        ("reviewer", "gpt-4o", "ok"),
    ]


@pytest.mark.parametrize("use_responses", [True, False], ids=["responses", "chat_completions"])
async def test_agents_sdk_streamed_run(standin: OpenAIStandIn, use_responses: bool) -> None:
    result = Runner.run_streamed(reviewer_agent(), REVIEWER_INPUT, run_config=run_config(standin, use_responses))
    async for _ in result.stream_events():
        pass
    assert isinstance(result.final_output, ReviewVerdict)


# --------------------------------------------------------------------------- recording & faults


async def test_calls_are_recorded_per_role(standin: OpenAIStandIn) -> None:
    api = client(standin)
    await api.responses.create(model="a", instructions=WRITER, input=WRITER_INPUT)
    await api.responses.create(model="b", instructions=REVIEWER, input=REVIEWER_INPUT)
    await api.responses.create(model="b", instructions=REVIEWER, input="x" * 5000)
    assert standin.calls[0] == StandInCall("writer", "a", WRITER_INPUT, "ok")
    assert standin.count("reviewer") == 2 and standin.count("writer") == 1
    assert standin.count(status="ok") == 3
    assert len(standin.calls[2].input) == 200
    standin.reset()
    assert standin.calls == []


async def test_injected_500_surfaces_as_internal_server_error(standin: OpenAIStandIn) -> None:
    standin.fail(times=1, status=500)
    api = client(standin, max_retries=0)
    with pytest.raises(openai.InternalServerError):
        await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
    ok = await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
    assert ok.output_text.startswith(OFFLINE_LABEL)
    assert [c.status for c in standin.calls] == ["http_500", "ok"]


async def test_faults_target_a_role_and_count_down(standin: OpenAIStandIn) -> None:
    standin.fail(role="reviewer", times=2, status=429)
    api = client(standin)
    await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError):
            await api.responses.create(model="m", instructions=REVIEWER, input=REVIEWER_INPUT)
    await api.responses.create(model="m", instructions=REVIEWER, input=REVIEWER_INPUT)
    assert [c.status for c in standin.calls] == ["ok", "http_429", "http_429", "ok"]


async def test_client_retries_through_a_single_failure(standin: OpenAIStandIn) -> None:
    standin.fail(role="writer", times=1, status=503)
    api = client(standin, max_retries=2)
    response = await api.with_options(timeout=10).responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
    assert response.output_text.startswith(OFFLINE_LABEL)
    assert standin.count("writer") == 2


@pytest.mark.parametrize("use_responses", [True, False], ids=["responses", "chat_completions"])
async def test_malformed_structured_output_fails_to_parse(standin: OpenAIStandIn, use_responses: bool) -> None:
    standin.malformed(role="reviewer", times=1)
    config = run_config(standin, use_responses)
    with pytest.raises(ModelBehaviorError):
        await Runner.run(reviewer_agent(), REVIEWER_INPUT, run_config=config)
    assert standin.calls[-1].status == "malformed"
    result = await Runner.run(reviewer_agent(), REVIEWER_INPUT, run_config=config)
    assert isinstance(result.final_output, ReviewVerdict)


async def test_malformed_text_is_not_json(standin: OpenAIStandIn) -> None:
    standin.malformed()
    response = await client(standin).responses.create(model="m", instructions=REVIEWER, input=REVIEWER_INPUT)
    assert response.output_text == MALFORMED_TEXT


async def test_wrong_key_gets_401(standin: OpenAIStandIn) -> None:
    with pytest.raises(openai.AuthenticationError):
        await client(standin, api_key="sk-wrong").responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
    with pytest.raises(openai.AuthenticationError):
        await client(standin, api_key="sk-wrong").chat.completions.create(
            model="m", messages=[{"role": "system", "content": WRITER}]
        )
    assert [c.status for c in standin.calls] == ["http_401", "http_401"]


async def test_any_key_when_api_key_is_none() -> None:
    async with OpenAIStandIn(api_key=None) as server:
        response = await client(server, api_key="anything").responses.create(
            model="m", instructions=WRITER, input=WRITER_INPUT
        )
        assert response.output_text.startswith(OFFLINE_LABEL)


async def test_unknown_role_is_a_400(standin: OpenAIStandIn) -> None:
    with pytest.raises(openai.BadRequestError, match="signoff's"):
        await client(standin).responses.create(model="m", instructions="You are a poet.", input="Topic: spring")
    assert standin.calls[-1].role == "unknown" and standin.calls[-1].status == "http_400"


async def test_delay_by_role() -> None:
    async with OpenAIStandIn(delay_by_role={"writer": 30}) as server:
        # The writer's answer is held (the client gives up first); the reviewer's is not: it comes
        # long before the 30 s the delay would take (the bound only catches that).
        with pytest.raises(openai.APITimeoutError):
            await client(server, timeout=0.5).responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
        reviewed = client(server).responses.create(model="m", instructions=REVIEWER, input=REVIEWER_INPUT)
        assert (await asyncio.wait_for(reviewed, timeout=15)).output_text


async def test_hang_until_stop() -> None:
    server = OpenAIStandIn()
    await server.start()
    server.hang("writer")
    api = client(server, timeout=0.5)
    with pytest.raises(openai.APITimeoutError):
        await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
    server.hang("writer")
    pending = asyncio.create_task(
        api.with_options(timeout=30).responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
    )
    await eventually(lambda: server.count("writer", status="hung") == 2)
    await server.stop()
    # Answered by the stop (503), not timed out by the client's 30 s.
    with pytest.raises(openai.APIStatusError):
        await pending


async def test_disconnect_mid_call_is_recorded() -> None:
    async with OpenAIStandIn(delay_by_role={"writer": 30}) as server:
        api = client(server, timeout=0.3)
        with pytest.raises(openai.APITimeoutError):
            await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
        await eventually(lambda: server.calls[0].status != "pending")
        assert server.calls[0].status == "disconnected"


# --------------------------------------------------------------------------- HTTP control


async def test_http_control_endpoints(standin: OpenAIStandIn) -> None:
    control = standin.url + "/_control"
    api = client(standin)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{control}/fail", json={"role": "writer", "status": 502}) as r:
            assert r.status == 200
        with pytest.raises(openai.APIStatusError) as failed:
            await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
        assert failed.value.status_code == 502

        async with http.post(f"{control}/delay", json={"role": "writer", "seconds": 0.3}) as r:
            assert r.status == 200
        started = time.monotonic()
        await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
        assert time.monotonic() - started >= 0.3

        async with http.post(f"{control}/malformed", json={"role": "reviewer"}) as r:
            assert r.status == 200
        response = await api.responses.create(model="m", instructions=REVIEWER, input=REVIEWER_INPUT)
        assert response.output_text == MALFORMED_TEXT

        async with http.get(f"{control}/calls") as r:
            calls = await r.json()
        assert [(c["role"], c["status"]) for c in calls] == [
            ("writer", "http_502"),
            ("writer", "ok"),
            ("reviewer", "malformed"),
        ]
        assert calls[0]["model"] == "m" and calls[0]["input"] == WRITER_INPUT

        async with http.post(f"{control}/fail", json={"times": 5}) as r:
            assert r.status == 200
        async with http.post(f"{control}/delay", json={"role": "writer", "seconds": 30}) as r:
            assert r.status == 200
        async with http.post(f"{control}/reset") as r:
            assert r.status == 200
        async with http.get(f"{control}/calls") as r:
            assert await r.json() == []
        # Faults and delays are gone: answered, long before the 30 s delay (the bound only catches that).
        response = await asyncio.wait_for(
            api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT), timeout=15
        )
        assert response.output_text.startswith(OFFLINE_LABEL)

        async with http.post(f"{control}/delay", data="not json") as r:
            assert r.status == 400


# --------------------------------------------------------------------------- command line


@pytest.mark.process
@pytest.mark.slow
async def test_standalone_process_prints_url_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)]))}
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "tests.doubles.openai_standin", "--port", "0", "--delay", "writer=0.2"],
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        base_url = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        api = AsyncOpenAI(base_url=base_url, api_key="sk-standin", max_retries=0)
        started = time.monotonic()
        response = await api.responses.create(model="m", instructions=WRITER, input=WRITER_INPUT)
        assert response.output_text.startswith(OFFLINE_LABEL)
        assert time.monotonic() - started >= 0.2
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert b"stopped" in await process.stderr.read()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
