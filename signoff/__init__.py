"""signoff: a person's decision in Slack in front of long-running AI agents.

The app beside the brief's ``bot`` and ``workflows``. Its subpackages, from the leaf up (the import
contracts in pyproject.toml hold this order): ``contracts`` (the data the workflows, activities and
bot agree on), ``config``, ``slack``, ``temporal`` and ``dbos`` (adapters), ``activities`` and
``models`` (what a worker runs), ``worker`` (the Temporal worker) and the DBOS engine beside ``bot``,
``cli`` and ``dev`` (entry points); ``sandbox`` is the demo's Slack.
Callers import ``signoff_client``, not this package. Nothing is imported here, so importing a leaf
does not load the app.
"""
