"""What a worker runs outside the workflows: the Slack activities (posts, updates, lookups), the
tools a /plan executes, and the settings activity. Both engines call these."""
