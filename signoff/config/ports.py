"""Listening sockets bound at start, so a port in use stops a process before it serves anything."""

from __future__ import annotations

import socket

from signoff.config.settings import SettingsError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now, for a child server started here (the dev servers)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


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
