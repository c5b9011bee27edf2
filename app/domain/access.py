"""Who may do what: API tokens, roles and the one authorization rule. No I/O.

Tokens live outside the database, in a file of lines ``NAME ROLE HASH [BOTS]``
(``BOTSETTINGS_TOKENS_FILE``): the file holds a hash of each secret, never the
secret. Secrets are 256 random bits, so a plain SHA-256 is enough (nothing to
brute-force, unlike a password) and costs microseconds per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import IntEnum, StrEnum

import msgspec

from app.domain.errors import BotSettingsError
from app.domain.scopes import Scope, is_slug

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
HASH_PREFIX = "sha256:"
SECRET_PREFIX = "bst_"


class Role(IntEnum):
    """Ordered: each role may do everything the ones below it may."""

    READER = 1
    WRITER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(StrEnum):
    READ = "read"  # any GET
    WRITE = "write"  # a change to one scope (or to every scope when none is named)
    ADMIN = "admin"  # migrate, jobs, scheduled changes: the platform as a whole


class Unauthenticated(BotSettingsError):
    title = "Unauthorized"


class Forbidden(BotSettingsError):
    title = "Forbidden"


class TokenFileError(ValueError):
    """A bad line in the tokens file; the message names the file and line."""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # recorded as the actor of every change it makes
    role: Role
    bots: frozenset[str] | None = None  # None: every bot


class Token(msgspec.Struct, frozen=True, kw_only=True):
    principal: Principal
    digest: bytes


def hash_secret(secret: str) -> str:
    return HASH_PREFIX + hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def token_line(name: str, role: Role, secret: str, bots: list[str] | None = None) -> str:
    """The line to add to the tokens file for a new secret."""
    check_name(name)
    for slug in bots or []:
        _check_bot(slug)
    return " ".join([name, role.label, hash_secret(secret), *([",".join(bots)] if bots else [])])


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValueError(f"invalid token name {name!r}: 1-64 characters, letters, digits, '_', '.', '@' or '-'")
    return name


def parse_role(text: str) -> Role:
    try:
        return Role[text.upper()]
    except KeyError:
        raise ValueError(f"unknown role {text!r}: use reader, writer or admin") from None


def parse_tokens(source: str, text: str) -> list[Token]:
    """Parse a tokens file; blank lines and ``#`` comments are ignored."""
    tokens: list[Token] = []
    names: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        try:
            if len(fields) not in (3, 4):
                raise ValueError("expected NAME ROLE sha256:HEX [BOT,BOT…]")
            name, role, digest = check_name(fields[0]), parse_role(fields[1]), fields[2]
            if not digest.startswith(HASH_PREFIX) or not re.fullmatch(r"[0-9a-f]{64}", digest[len(HASH_PREFIX):]):
                raise ValueError("the third field must be sha256:<64 hex digits> (a hash, never the secret)")
            bots = frozenset(_check_bot(s) for s in fields[3].split(",")) if len(fields) == 4 else None
            if name in names:
                raise ValueError(f"token name {name!r} is used twice")
        except ValueError as exc:
            raise TokenFileError(f"{source}, line {number}: {exc}") from None
        names.add(name)
        tokens.append(Token(principal=Principal(name=name, role=role, bots=bots),
                            digest=bytes.fromhex(digest[len(HASH_PREFIX):])))
    return tokens


def _check_bot(slug: str) -> str:
    if not is_slug(slug):
        raise ValueError(f"invalid bot slug {slug!r} in the bot list")
    return slug


def authenticate(tokens: list[Token], secret: str | None) -> Principal:
    """The principal a secret belongs to. Every token is compared, in constant time
    each, so the time taken says nothing about which token came close."""
    if not secret:
        raise Unauthenticated("this endpoint needs an API token: send 'Authorization: Bearer <token>'")
    presented = hashlib.sha256(secret.encode()).digest()
    found: Principal | None = None
    for token in tokens:
        if hmac.compare_digest(presented, token.digest):
            found = token.principal
    if found is None:
        raise Unauthenticated("the API token is not valid")
    return found


def authorize(principal: Principal, action: Action, scope: Scope | None = None, *,
              every_scope: bool = False) -> None:
    """Raise Forbidden unless ``principal`` may do ``action`` (on ``scope``).

    reader: reads. writer: changes to bot scopes. admin: everything, including the
    global scope, changes across all scopes and platform operations. A token limited
    to some bots may neither read nor change any other bot's scope, nor read data of
    every scope at once (``every_scope``: the whole log, a diff of everything).
    """
    limited = principal.bots is not None
    if scope is not None and not scope.is_global and principal.bots is not None \
            and scope.id not in principal.bots:
        raise Forbidden(f"token '{principal.name}' is limited to bots {', '.join(sorted(principal.bots))}; "
                        f"it may not access {scope}")
    if action is Action.READ:
        if scope is None and every_scope and limited:
            raise Forbidden(f"token '{principal.name}' is limited to some bots; name one scope "
                            "(?scope=bots/<slug>) instead of reading every scope")
        return
    bot_change = action is Action.WRITE and scope is not None and not scope.is_global
    needed = Role.WRITER if bot_change else Role.ADMIN
    if principal.role < needed:
        what = {Action.WRITE: f"change {scope}" if scope is not None else "change every scope at once",
                Action.ADMIN: "run platform operations"}[action]
        raise Forbidden(f"token '{principal.name}' has role {principal.role.label}; "
                        f"to {what} it needs {needed.label}")


def sees_bot(principal: Principal, slug: str | None) -> bool:
    """Whether the principal may learn anything of this bot (``None``: platform-wide)."""
    return slug is None or principal.bots is None or slug in principal.bots


def sees_scope(principal: Principal, scope_text: str) -> bool:
    """A scope in its written form (``global`` or ``bots/<slug>``): global is every
    token's to read; a bot scope only for tokens that see the bot."""
    return not scope_text.startswith("bots/") or sees_bot(principal, scope_text[len("bots/"):])


SESSION_PREFIX = "bss_"


def new_session_id() -> str:
    """The page's sign-in cookie: 256 random bits naming a server-side session."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def session_hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def principal_named(tokens: list[Token], name: str | None) -> Principal:
    """The principal of the token a session was opened with; a token since removed
    from the tokens file no longer signs anyone in."""
    for token in tokens:
        if token.principal.name == name:
            return token.principal
    raise Unauthenticated("the sign-in session has expired or was ended: sign in again")
