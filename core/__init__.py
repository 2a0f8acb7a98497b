"""Pure shared modules: the contracts (data that crosses the workflow boundary), the
activity names and inputs, Slack mrkdwn helpers, button ids and Block Kit rendering.

No I/O and no imports from the rest of signoff: the workflows, the worker and the bot all
build on these.
"""
