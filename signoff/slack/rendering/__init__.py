"""Pure Block Kit builders for every message, modal and App Home the app shows, by what
they render: ``drafts`` (a draft's messages and the thread's parent), ``modals``,
``lists`` (status, list, help and Home), on top of ``text`` (limits, labels, mrkdwn).

Nothing here does I/O, so the same functions serve the Bolt listeners and the
Temporal activities (which rebuild a draft's control message when its state
changes) and are tested on ``.to_dict()`` alone.

Every piece of user or model text goes through ``signoff.contracts.mrkdwn.escape`` before
it is placed in a text object, so a subject such as ``<!channel>`` is shown
literally and pings nobody; the only real mentions are the ones built here with
``signoff.contracts.mrkdwn.mention`` from Slack ids.

Slack rejects a payload that breaks one of its limits (``invalid_blocks``), and
a draft is model output of any length, so the builders keep every limit by
construction: long bodies are split into as many messages as needed and long
lists are cut with an "and N more" line.
"""
