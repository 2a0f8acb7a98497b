"""``free_port`` picks below the kernel's ephemeral range: a port there cannot become some outgoing
connection's local port between the choice and the child server's bind (the "Address in use" flakes
of the Restate and dev-server tests under a full suite's load)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from signoff.config.ports import free_port

RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


@pytest.mark.skipif(not RANGE.is_file(), reason="Linux's ephemeral range")
def test_a_free_port_is_below_the_ephemeral_range_and_bindable() -> None:
    first_ephemeral = int(RANGE.read_text().split()[0])
    for _ in range(20):
        port = free_port()
        assert port < first_ephemeral
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
