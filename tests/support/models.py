"""A model provider that records what each agent was asked, delegating to the offline model."""

from __future__ import annotations

from typing import Any

from agents.models.interface import Model, ModelProvider

from worker.offline_model import OfflineModelProvider


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
    content = item.get("content", "") if isinstance(item, dict) else getattr(item, "content", "")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)
