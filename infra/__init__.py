"""What the bot and the worker both stand on: the settings, the Temporal data converter and
links, the Slack client and session, and the process heap tuning."""
