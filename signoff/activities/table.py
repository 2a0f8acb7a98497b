"""Every activity the workflows call, by name: what each engine runs them from.

The Temporal worker registers each under its name (``signoff.worker``), the DBOS engine calls them
from this table as steps (``signoff.dbos.engine``); the activities themselves are plain async functions.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from signoff.activities.context import Activity
from signoff.activities.progress_stream import ProgressStreamActivities
from signoff.activities.settings import PreferenceActivities, WorkerSettingsActivities, preference_store
from signoff.activities.slack import SlackActivities
from signoff.activities.slack_tools import SlackToolActivities
from signoff.activities.webhooks import WebhookActivities
from signoff.activities.workflow_steps import WorkflowStepActivities
from signoff.config.settings import Settings
from signoff.slack.pacing import ChannelPacer
from signoff.temporal.search_attributes import SearchAttributeCheck


def activity_table(
    settings: Settings,
    slack: AsyncWebClient,
    pacer: ChannelPacer | None = None,
    search_attributes: SearchAttributeCheck | None = None,
) -> dict[str, Activity]:
    """Every activity the workflows call, by name; ``search_attributes``: the namespace's check (Temporal only)."""
    preferences = preference_store(settings.preferences)
    slack_activities = SlackActivities(slack, settings.temporal_ui_url, settings.temporal_namespace, pacer, preferences)
    return {
        **slack_activities.by_name(),
        **SlackToolActivities(slack_activities).by_name(),
        **ProgressStreamActivities(slack_activities).by_name(),
        **WorkerSettingsActivities(settings.workflow, search_attributes).by_name(),
        **WebhookActivities(settings.api_keys, allow_private=settings.webhook_allow_private).by_name(),
        **WorkflowStepActivities(slack).by_name(),
        **PreferenceActivities(preferences).by_name(),
    }
