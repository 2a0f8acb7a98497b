"""The worker's payload converter: the Agents plugin's, with one JSON converter for every workflow run."""

from __future__ import annotations

from temporalio.converter import DataConverter
from temporalio.openai_agents import OpenAIPayloadConverter

from signoff.config.settings import Settings
from signoff.contracts.tool_calls import ToolDecisionInput
from signoff.worker import SharedJsonPayloadConverter, agents_plugin, workflow_runner


def test_the_agents_plugin_gives_clients_and_replayers_the_shared_converter() -> None:
    plugin = agents_plugin(Settings())
    client = plugin.configure_client({"data_converter": DataConverter.default})  # type: ignore[typeddict-item]
    replayer = plugin.configure_replayer(
        {"data_converter": DataConverter.default, "workflow_runner": workflow_runner()}
    )
    for config in (client, replayer):
        converter = config["data_converter"]
        assert converter.payload_converter_class is SharedJsonPayloadConverter
        # Still the Agents plugin's converter: its pydantic JSON and lenient model responses.
        assert issubclass(converter.payload_converter_class, OpenAIPayloadConverter)


def test_each_run_decodes_with_adapters_built_once_per_process() -> None:
    # Temporal makes a converter per workflow run: the second run finds the first one's adapter.
    first, second = SharedJsonPayloadConverter(), SharedJsonPayloadConverter()
    decision = ToolDecisionInput(call_number=3, user_id="U1", team_id="T1", always=True)
    [payload] = first.to_payloads([decision])
    assert first.from_payloads([payload], [ToolDecisionInput]) == [decision]
    adapters = second.converters[b"json/plain"]._type_adapter  # type: ignore[attr-defined]
    built = adapters.cache_info().misses
    assert second.from_payloads([payload], [ToolDecisionInput]) == [decision]
    assert adapters.cache_info().misses == built
    assert adapters.cache_info().hits >= 1
