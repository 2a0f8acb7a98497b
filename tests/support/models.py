"""A model provider that records what each agent was asked, delegating to the offline model."""

from __future__ import annotations

import json
from typing import Any

from agents import ModelResponse, Usage
from agents.items import TResponseOutputItem
from agents.models.interface import Model, ModelProvider
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from signoff.models.offline import OfflineModelProvider


class RecordingModelProvider(ModelProvider):
    def __init__(self, inner: ModelProvider | None = None):
        self.inner = inner or OfflineModelProvider()
        self.requests: list[tuple[str, str]] = []  # (first line of instructions, input)

    def get_model(self, model_name: str | None) -> Model:
        return _RecordingModel(self.inner.get_model(model_name), self.requests)

    def inputs_for(self, role: str) -> list[str]:
        return [text for instructions, text in self.requests if f"signoff's {role} agent" in instructions]


class _RecordingModel(Model):
    def __init__(self, inner: Model, requests: list[tuple[str, str]]):
        self._inner = inner
        self._requests = requests

    async def get_response(self, system_instructions: str | None, input: Any, *args: Any, **kwargs: Any) -> Any:
        text = input if isinstance(input, str) else "\n".join(_content_of(item) for item in input)
        self._requests.append(((system_instructions or "").splitlines()[0] if system_instructions else "", text))
        return await self._inner.get_response(system_instructions, input, *args, **kwargs)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.stream_response(*args, **kwargs)


def _content_of(item: Any) -> str:
    get = item.get if isinstance(item, dict) else lambda key, default=None: getattr(item, key, default)
    if get("type") == "function_call_output":
        # What a tool returned (or why it was not run): the model reads it as input.
        return str(get("output", ""))
    content = get("content", "")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


class ScriptedExecutorProvider(ModelProvider):
    """The offline model, except that the executor asks for the given tool calls, one turn each.

    Turn N's calls are asked for once N turns were answered; then the executor reports. Each call's
    id is stable across replays (it names the turn and the position).
    """

    def __init__(self, turns: list[list[tuple[str, dict[str, Any]]]]):
        self.inner = OfflineModelProvider()
        self.turns = turns

    def get_model(self, model_name: str | None) -> Model:
        return _ScriptedExecutor(self.inner.get_model(model_name), self.turns)


class _ScriptedExecutor(Model):
    def __init__(self, inner: Model, turns: list[list[tuple[str, dict[str, Any]]]]):
        self._inner = inner
        self._turns = turns

    async def get_response(self, system_instructions: str | None, input: Any, *args: Any, **kwargs: Any) -> Any:
        if "signoff's executor agent" not in (system_instructions or "") or isinstance(input, str):
            return await self._inner.get_response(system_instructions, input, *args, **kwargs)
        answered = sum(1 for item in input if _field(item, "type") == "function_call_output")
        done = 0
        for turn, calls in enumerate(self._turns):
            if answered == done:
                output: list[TResponseOutputItem] = [
                    ResponseFunctionToolCall(
                        type="function_call",
                        id=f"fc_scripted_{turn}_{n}",
                        call_id=f"call_scripted_{turn}_{n}",
                        name=name,
                        arguments=json.dumps(arguments),
                        status="completed",
                    )
                    for n, (name, arguments) in enumerate(calls)
                ]
                return ModelResponse(output=output, usage=Usage(requests=1), response_id=f"resp_scripted_{turn}")
            done += len(calls)
        text = "Report: " + "; ".join(
            str(_field(i, "output")) for i in input if _field(i, "type") == "function_call_output"
        )
        message = ResponseOutputMessage(
            id="msg_scripted_report",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])],
        )
        return ModelResponse(output=[message], usage=Usage(requests=1), response_id="resp_scripted_report")

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.stream_response(*args, **kwargs)


def _field(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


class LongDraftProvider(ModelProvider):
    """The offline model, except that every draft the writer writes ends with ``appendix``.

    A way to get drafts of a chosen length (e.g. longer than Slack's 3,000-character form)
    through the real agents; the other agents answer as offline.
    """

    def __init__(self, appendix: str):
        self.inner = OfflineModelProvider()
        self.appendix = appendix

    def get_model(self, model_name: str | None) -> Model:
        return _LongWriter(self.inner.get_model(model_name), self.appendix)


class _LongWriter(Model):
    def __init__(self, inner: Model, appendix: str):
        self._inner = inner
        self._appendix = appendix

    async def get_response(self, system_instructions: str | None, input: Any, *args: Any, **kwargs: Any) -> Any:
        response = await self._inner.get_response(system_instructions, input, *args, **kwargs)
        if "signoff's writer agent" not in (system_instructions or ""):
            return response
        [message] = response.output
        assert isinstance(message, ResponseOutputMessage), message
        [text] = message.content
        assert isinstance(text, ResponseOutputText), text
        longer = text.model_copy(update={"text": text.text + self._appendix})
        return ModelResponse(
            output=[message.model_copy(update={"content": [longer]})],
            usage=response.usage,
            response_id=response.response_id,
        )

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.stream_response(*args, **kwargs)
