"""A production deployment that runs only once a person signed off in Slack (README.md here)."""
