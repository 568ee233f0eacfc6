"""Seller sign-in, the same on both sides (each keeps its own accounts and sessions):
Argon2id password hashes, opaque session tokens stored only as their SHA-256, a
CSRF token bound to each session, and the session cookie's attributes.

A session cookie is HttpOnly, SameSite=Strict and Secure unless the settings say the
site is served over plain http (local development only; production refuses it).
Every unsafe request of a signed-in seller must carry the session's CSRF token, as
the `csrf_token` form field or the `X-CSRF-Token` header (synchronizer token).
"""

import asyncio
import getpass
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Response

from contracts import utc_now

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
NEW_PASSWORD_VARIABLE = "LIVECART_SELLER_PASSWORD"

_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`, salt and parameters included."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a seller password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; never raises for a wrong or malformed one."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError, UnicodeEncodeError):
        return False  # UnicodeEncodeError: a lone surrogate can match no stored password


# Verified against when the login names no account, so a wrong login and a wrong
# password take the same time (no probing which emails exist).
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def verify_or_waste(password_hash: str | None, password: str) -> bool:
    """`verify_password`, or the same work for nothing when there is no account."""
    if password_hash is None:
        verify_password(_DUMMY_HASH, password)
        return False
    return verify_password(password_hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` opens the account of `password_hash` (None: no such account),
    with the same work either way, off the event loop (Argon2id takes tens of ms of CPU)."""
    if len(password) > MAX_PASSWORD_LENGTH or not encodable(password):
        password = ""  # compare something that can never match, in the same time
    return await asyncio.to_thread(verify_or_waste, password_hash, password)


def normal_email(email: str) -> str:
    """How an email is stored and looked up on both sides: trimmed, lower-case."""
    return email.strip().lower()


def encodable(text: str) -> bool:
    """Whether `text` is valid Unicode (no lone surrogates), as drivers and Argon2 need."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_new_password() -> str:
    """A new seller's password for `add-seller`: `LIVECART_SELLER_PASSWORD`, else asked
    twice on the terminal; ValueError saying why when it cannot be used."""
    password = os.environ.get(NEW_PASSWORD_VARIABLE)
    if password is None:
        password = getpass.getpass("Password for the seller: ")
        if getpass.getpass("Same password again: ") != password:
            raise ValueError("the two passwords differ; nothing was created")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a seller password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH or not encodable(password):
        raise ValueError("the password is too long or not valid text (check the encoding)")
    return password


def new_token() -> str:
    """A fresh unguessable token (256 bits), for a session or a CSRF token."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored of a session token: its SHA-256, so a database leak opens nothing."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and secrets.compare_digest(
        expected.encode(), given.encode("utf-8", "surrogatepass")
    )


@dataclass(frozen=True, slots=True)
class SellerSession:
    """A signed-in seller, as a request's dependency sees it."""

    seller_id: str
    name: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf_token: str
    token_sha256: str
    expires_at: datetime

    @classmethod
    def starting_now(cls, ttl: timedelta) -> "NewSession":
        token = new_token()
        return cls(token, new_token(), token_digest(token), utc_now() + ttl)


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """The seller session cookie: its name, whether it is Secure, how long it lives."""

    name: str
    secure: bool
    max_age_seconds: int

    def set(self, response: Response, token: str) -> None:
        response.set_cookie(
            self.name,
            token,
            max_age=self.max_age_seconds,
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="strict",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            self.name, path="/", httponly=True, secure=self.secure, samesite="strict"
        )
