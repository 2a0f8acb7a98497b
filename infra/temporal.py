"""How every process talks to Temporal: the data converter and the UI's links.

The converter is the one the worker's OpenAI Agents plugin uses (pydantic-aware JSON);
a client that starts or updates these workflows must use the same one.
"""

from __future__ import annotations

from urllib.parse import quote

from temporalio.converter import DataConverter
from temporalio.openai_agents import OpenAIPayloadConverter


def data_converter() -> DataConverter:
    """The converter every client of these workflows uses (pydantic-aware JSON)."""
    return DataConverter(payload_converter_class=OpenAIPayloadConverter)


def workflow_url(temporal_ui_url: str, namespace: str, workflow_id: str) -> str:
    return (
        f"{temporal_ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    )
