"""Secrets at rest: the tokens the bot stores, encrypted with the keys of SECRETS_KEYS.

Why it looks like this:

- **Fernet** (the `cryptography` package): authenticated encryption (AES-128-CBC with an
  HMAC-SHA256 over the whole token) in one reviewed call, so a stored token can be neither
  read nor altered without a key. `cryptography` was already installed (msal needs it);
  it is a direct dependency now because this module calls it.
- **MultiFernet for rotation**: the first key of SECRETS_KEYS encrypts, every key decrypts,
  and `rotate` re-encrypts under the first. Rotating is: put the new key first, keep the
  old one after it, run `strategy-bot secrets rotate`, then drop the old key.
- **Clear and encrypted side by side.** A value is taken for a Fernet token when it has
  Fernet's shape (url-safe base64 of a 0x80 version byte, a timestamp, an IV, whole AES
  blocks and a 32-byte MAC); a Slack token (`xoxb-…`, `xoxe.xoxb-…`) never does. So a token
  stored before a key was configured is still read, as it is (and encrypted by `secrets
  rotate`), while a value of Fernet's shape that no configured key opens is an error
  (`UnreadableSecret`), never passed on to Slack as if it were a token.
- **No key, no encryption**: without SECRETS_KEYS values are stored as given (what
  slack_sdk does); the start-up log says so.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from enum import Enum

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

VARIABLE = "SECRETS_KEYS"
# version (1) + timestamp (8) + IV (16) + at least one AES block (16) + HMAC (32)
_FERNET_OVERHEAD = 1 + 8 + 16 + 32
_FERNET_VERSION = 0x80
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class UnreadableSecret(Exception):
    """A stored value is encrypted, but no key of SECRETS_KEYS decrypts it (or none is set).

    The message never contains the value.
    """


def parse_keys(text: str) -> tuple[str, ...]:
    """The Fernet keys of a SECRETS_KEYS value: comma-separated, first one encrypts.

    Blank entries (a trailing comma, spaces) are ignored.

    Raises:
        ValueError: naming which key is not a Fernet key (without the key itself).
    """
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError, binascii.Error):
            where = f"key {index} of {len(keys)}" if len(keys) > 1 else "the key"
            raise ValueError(
                f"{where} is not a Fernet key (32 random bytes in url-safe base64, "
                "44 characters); make one with 'strategy-bot secrets new-key'"
            ) from None
    return keys


def new_key() -> str:
    """A fresh random Fernet key, for SECRETS_KEYS."""
    return Fernet.generate_key().decode("ascii")


def looks_encrypted(value: str) -> bool:
    """Whether a stored value has the shape of a Fernet token (see the module docstring)."""
    if len(value) < 4 * ((_FERNET_OVERHEAD + 16 + 2) // 3) or not _BASE64URL.match(value):
        return False
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    body = len(raw) - _FERNET_OVERHEAD
    return raw[0] == _FERNET_VERSION and body >= 16 and body % 16 == 0


class Change(Enum):
    """What `SecretBox.reseal` did to one value."""

    NONE = "none"  # empty, or already as wanted (clear; encrypted with the first key)
    ENCRYPTED = "encrypted"  # was clear, now encrypted with the first key
    ROTATED = "rotated"  # was encrypted, now encrypted with the first key
    DECRYPTED = "decrypted"  # was encrypted, now clear (`secrets decrypt`)


class SecretBox:
    """Encrypts values to store and decrypts stored ones, with the keys of SECRETS_KEYS.

    Args:
        keys: Fernet keys, the first one encrypting (`parse_keys`); none: values are
            stored as given and only clear ones can be read.
    """

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys]) if keys else None
        self._first = Fernet(keys[0]) if keys else None
        self.key_count = len(keys)

    @property
    def enabled(self) -> bool:
        """Whether values are encrypted before they are stored."""
        return self._fernet is not None

    def seal(self, value: str | None) -> str | None:
        """`value` as it is to be stored: encrypted when a key is configured."""
        if value is None or self._fernet is None:
            return value
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, value: str | None) -> str | None:
        """A stored value as it was given: decrypted if encrypted, as it is if clear.

        Raises:
            UnreadableSecret: it is encrypted and no configured key decrypts it.
        """
        if value is None or not looks_encrypted(value):
            return value
        if self._fernet is None:
            raise UnreadableSecret(f"it is encrypted, and {VARIABLE} is not set")
        try:
            return self._fernet.decrypt(value.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise UnreadableSecret(
                f"it is encrypted with a key that is not in {VARIABLE}"
            ) from None

    def reseal(self, value: str | None, *, clear: bool = False) -> tuple[str | None, Change]:
        """`value` encrypted with the first key (or, with `clear`, decrypted), and what changed.

        Raises:
            UnreadableSecret: it is encrypted and no configured key decrypts it.
            ValueError: no key is configured and `clear` is not asked for.
        """
        if value is None or value == "":
            return value, Change.NONE
        encrypted = looks_encrypted(value)
        if clear:
            return (self.open(value), Change.DECRYPTED) if encrypted else (value, Change.NONE)
        if self._fernet is None or self._first is None:
            raise ValueError(f"{VARIABLE} is not set: there is no key to encrypt with")
        if not encrypted:
            return self.seal(value), Change.ENCRYPTED
        try:
            self._first.decrypt(value.encode("ascii"))
            return value, Change.NONE  # already under the first key: nothing to write
        except InvalidToken:
            pass
        try:
            return self._fernet.rotate(value.encode("ascii")).decode("ascii"), Change.ROTATED
        except InvalidToken:
            raise UnreadableSecret(
                f"it is encrypted with a key that is not in {VARIABLE}"
            ) from None


__all__ = [
    "VARIABLE",
    "Change",
    "SecretBox",
    "UnreadableSecret",
    "looks_encrypted",
    "new_key",
    "parse_keys",
]
