"""A model's answer read back from a Restate run's journal is the answer it gave: an agent stopped at
two tool calls that need approval resumes with one allowed and one denied, as it does from the live
answer (the executor's plan on Restate failed here: read back by its fields' Python names, an OpenAI
function call carried ``async_`` twice and the Agents SDK refused to approve either call)."""

from __future__ import annotations

import json
from typing import Any

from agents import Agent, Model, ModelResponse, Runner, Usage, function_tool
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from signoff.restate.engine import JsonSerde

JOURNAL = JsonSerde[ModelResponse](ModelResponse)


def two_tool_calls() -> ModelResponse:
    calls = [
        ResponseFunctionToolCall(
            type="function_call",
            id=f"fc_{n}",
            call_id=f"call_{n}",
            name="post",
            arguments=json.dumps({"channel": channel}),
            status="completed",
        )
        for n, channel in enumerate(["#random", "#general"])
    ]
    return ModelResponse(output=list(calls), usage=Usage(), response_id="resp_1")


def report() -> ModelResponse:
    text = ResponseOutputText(type="output_text", text="Posted in #random only.", annotations=[])
    message = ResponseOutputMessage(id="msg_1", type="message", role="assistant", status="completed", content=[text])
    return ModelResponse(output=[message], usage=Usage(), response_id="resp_2")


def replayed(response: ModelResponse) -> ModelResponse:
    read = JOURNAL.deserialize(JOURNAL.serialize(response))
    assert read is not None
    return read


class JournaledModel(Model):
    """Two tool calls, then a report: each answer as the engine returns it, read back from JSON."""

    def __init__(self) -> None:
        self.answers = [two_tool_calls(), report()]

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return replayed(self.answers.pop(0))

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def test_a_function_call_reads_back_as_written() -> None:
    written = two_tool_calls()
    read = replayed(written)
    assert read == written
    for before, after in zip(written.output, read.output, strict=True):
        assert isinstance(after, ResponseFunctionToolCall)
        assert after.model_extra == {}
        assert after.model_fields_set == before.model_fields_set


async def test_an_agent_resumes_from_journaled_answers_with_one_call_allowed_and_one_denied() -> None:
    posted: list[str] = []

    @function_tool(needs_approval=True)
    def post(channel: str) -> str:
        posted.append(channel)
        return f"posted in {channel}"

    agent = Agent("executor", model=JournaledModel(), tools=[post])
    stopped = await Runner.run(agent, "Announce the offsite")
    allowed, denied = stopped.interruptions
    state = stopped.to_state()
    state.approve(allowed)
    state.reject(denied, rejection_message="Not in #general, please")

    finished = await Runner.run(agent, state)

    assert finished.final_output == "Posted in #random only."
    assert posted == ["#random"]
