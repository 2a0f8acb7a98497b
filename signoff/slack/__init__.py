"""Slack, from signoff's side: the Web API client and session, per-channel pacing of posts, button
ids, Block Kit rendering and the response_url check."""
