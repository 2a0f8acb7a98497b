"""The error types a SignoffRequest fails with (``ApplicationError.type`` of the child's failure)."""

from __future__ import annotations

# The request itself is wrong (never retried): the message names each field.
INVALID_REQUEST = "InvalidSignoffRequest"
# The app is not in the channel: invite it, then ask again.
NOT_IN_CHANNEL = "SlackNotInChannel"
# The app cannot see the channel (a private one it was not invited to, or a wrong id).
CHANNEL_NOT_FOUND = "SlackChannelNotFound"
# Slack refused the thread for another reason (its error name is the detail: invalid_auth…).
SLACK_REFUSED = "SlackRefused"
