"""Listening sockets bound at start, so a port in use stops a process before it serves anything."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from signoff.config.settings import SettingsError

# Where Linux says which ports it gives outgoing connections (and ``bind(0)``) as their local port.
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# The lowest port ``free_port`` picks: above the registered services most machines run.
LOWEST_PICKED = 10_000
_TRIES = 50


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now, for a child server started here (the dev servers).

    Picked below the kernel's ephemeral range: a port there is taken only by another explicit bind,
    where one the kernel hands out (``bind(0)``) can become any outgoing connection's local port
    between this choice and the server's bind, and the server then fails with "Address in use"."""
    first_ephemeral = _first_ephemeral_port()
    for _ in range(_TRIES if first_ephemeral > LOWEST_PICKED else 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, random.randrange(LOWEST_PICKED, first_ephemeral)))
            except OSError:
                continue
            picked: int = sock.getsockname()[1]
            return picked
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _first_ephemeral_port() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default, and what other systems' ranges start above


def bind_port(port: int, what: str, host: str = "0.0.0.0") -> socket.socket:
    """A listening TCP socket on ``host:port`` (hand it to ``aiohttp.web.SockSite``). Raises
    ``SettingsError`` naming ``what`` (the option) when the port is taken or not ours to bind."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        raise SettingsError(f"cannot listen on port {port} ({what}): {err.strerror}") from None
    sock.setblocking(False)
    return sock
