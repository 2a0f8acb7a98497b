"""What the workflows, the activities and the bot agree on: the data that crosses the workflow
boundary, activity names and inputs, tool-call states, the access rule, mrkdwn escaping.

The deterministic leaf: no I/O, no Slack or HTTP client, and no import from the rest of signoff.
"""
