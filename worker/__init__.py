"""The worker side: the Temporal worker, its activities (Slack, settings), the per-channel
pacing of its Slack posts and the offline model provider."""
