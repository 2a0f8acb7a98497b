"""Which response_urls the app posts to: Slack's, or the configured SLACK_API_URL's host (the sandbox)."""

from __future__ import annotations

import pytest

from signoff.slack.response_urls import is_slack_response_url, redacted

SANDBOX_API = "http://127.0.0.1:8100/api/"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/commands/T08TDQNJDUJ/9085180773399/LVXK3rKtTO9FF3VBhb0yR0wv",
        "https://hooks.slack.com/actions/T0001/123/abc",
        "https://hooks.slack.com/app/T111/123/xyz",
        "https://HOOKS.slack.com:443/commands/T0001/1/x",
        "http://127.0.0.1:8100/response/abc",  # the sandbox's, as SLACK_API_URL names it
        "http://localhost:8100/response/abc",  # the same machine and port, named otherwise
        "http://0.0.0.0:8100/response/abc",  # a sandbox listening on all addresses
    ],
)
def test_slacks_and_the_configured_hosts_response_urls_are_accepted(url: str) -> None:
    assert is_slack_response_url(url, SANDBOX_API)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9999/steal",  # the sandbox's host, another port
        "http://localhost:9999/steal",
        "http://10.0.0.5:8100/response/abc",  # another machine, the sandbox's port
        "https://127.0.0.1:8100/response/abc",  # another scheme
        "http://169.254.169.254/latest/meta-data/",
        "http://hooks.slack.com/commands/T0001/1/x",  # not TLS
        "https://hooks.slack.com:8443/commands/T0001/1/x",
        "https://hooks.slack.com/services/T0001/B0001/x",  # an incoming webhook: any workspace's
        "https://hooks.slack.com.evil.example/commands/T0001/1/x",
        "https://evil.example/commands/T0001/1/x#hooks.slack.com",
        "https://hooks.slack.com@evil.example/commands/T0001/1/x",
        "https://user@hooks.slack.com/commands/T0001/1/x",
        "https://hooks.slack.com:99999/commands/T0001/1/x",
        "file:///etc/passwd",
        "hooks.slack.com/commands/T0001/1/x",
        "",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    assert not is_slack_response_url(url, SANDBOX_API)


def test_without_a_configured_api_url_only_slacks_are_accepted() -> None:
    assert is_slack_response_url("https://hooks.slack.com/commands/T0001/1/x")
    assert not is_slack_response_url("http://127.0.0.1:8100/response/abc")


def test_what_is_logged_of_a_url_is_its_host_only() -> None:
    assert redacted("http://127.0.0.1:9999/steal?token=secret") == "http://127.0.0.1:9999"
    assert redacted("https://hooks.slack.com/commands/T0001/1/secret") == "https://hooks.slack.com:443"
    assert redacted("not a url") == "(not a URL)"
