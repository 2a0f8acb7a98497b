"""Who is calling: ``Authorization: Bearer <secret>`` matched against the configured keys
(``SIGNOFF_API_KEYS``, ``SIGNOFF_API_KEYS_FILE``) in constant time; never logged."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from bot.api.problems import ProblemError
from signoff.config.api_keys import ApiKey

_BEARER = "bearer "


def _digest(secret: str) -> bytes:
    # Equal lengths whatever was sent, so the comparison's time says nothing about a secret's length.
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest()


class KeyRing:
    """The API's keys; ``caller`` names the key a request presents, or refuses it (401)."""

    def __init__(self, keys: tuple[ApiKey, ...]) -> None:
        self._keys = [(_digest(key.secret), key) for key in keys]

    def __bool__(self) -> bool:
        return bool(self._keys)

    def match(self, presented: str) -> ApiKey | None:
        """The key whose secret is ``presented``; every key is compared (no early exit)."""
        given = _digest(presented)
        found = None
        for digest, key in self._keys:
            if hmac.compare_digest(given, digest):
                found = key
        return found

    def caller(self, request: web.Request) -> ApiKey:
        header = request.headers.get("Authorization", "")
        if not header[: len(_BEARER)].lower() == _BEARER:
            raise _unauthorized("send the API key as `Authorization: Bearer <key>`")
        key = self.match(header[len(_BEARER) :].strip())
        if key is None:
            raise _unauthorized("that API key is not valid")
        return key


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="signoff"'})
