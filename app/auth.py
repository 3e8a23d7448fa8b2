"""Who is calling, from `Authorization: Bearer <secret>`: the admin key, a project's API key, or
a client token (an end user of a project's app; see app/client_tokens.py)."""

import asyncio
import hmac
import time
from dataclasses import dataclass

from cachetools import TTLCache

from app.client_tokens import ClientTokens, looks_like_token
from models import api_key
from models.api_key import ActiveKey
from models.errors import Unauthenticated

ADMIN_KEY_ID = "admin"
# Keys are ~50 characters; a client token with its subject and assistants stays under this.
MAX_KEY_LENGTH = 4096
MISSING_KEY = "Missing API key: send `Authorization: Bearer <key>`."
INVALID_KEY = "The API key is invalid or has been revoked."
# Project keys looked up recently, remembered by their secret's digest (never the secret).
KEY_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a project key (with its project), the admin key (none), or a
    client token (its project, its `subject` and the assistants it was granted)."""

    key_id: str
    project_id: str | None = None
    subject: str | None = None
    assistant_ids: frozenset[str] = frozenset()
    expires_at: float | None = None  # a client token's `exp`, seconds since the epoch

    @property
    def is_admin(self) -> bool:
        return self.project_id is None

    @property
    def is_client(self) -> bool:
        return self.subject is not None

    @property
    def rate_key(self) -> str:
        """What rate limits count by: the key, or for client tokens the subject (every token
        of one end user together)."""
        if self.is_client:
            return f"{self.project_id}:{self.subject}"
        return self.key_id

    @property
    def share_key(self) -> str:
        """What fairness between projects counts by: the project, all its keys and end users
        together (a key can mint tokens for any number of subjects); the admin key alone."""
        return self.project_id or self.rate_key

    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at


ADMIN = Principal(key_id=ADMIN_KEY_ID)


def bearer_token(authorization: object) -> str:
    """The key in `Bearer <key>`; raises UNAUTHENTICATED when missing or malformed."""
    if authorization is None or authorization == "":
        raise Unauthenticated(MISSING_KEY)
    if not isinstance(authorization, str):
        raise Unauthenticated(INVALID_KEY)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_KEY_LENGTH:
        raise Unauthenticated(INVALID_KEY)
    return token


class Authenticator:
    """Checks keys: the admin key in constant time, project keys by their digest, client tokens
    by their signature (no database lookup).

    A project key found is remembered for `key_cache_seconds` (0: never), so most requests make
    no database read to authenticate. A key revoked through this process is forgotten at once;
    through another, it stops working here within `key_cache_seconds` (the server passes
    THREADLINE_WS_AUTH_RECHECK_SECONDS, the delay open websockets already allow). Unknown keys
    are never remembered: each is looked up, and counted by the bad-key limit."""

    def __init__(
        self, admin_key: str, client_tokens: ClientTokens, key_cache_seconds: float = 0
    ) -> None:
        self._admin_digest = api_key.digest(admin_key)
        self.client_tokens = client_tokens
        self._keys: TTLCache[str, ActiveKey] | None = (
            TTLCache(maxsize=KEY_CACHE_SIZE, ttl=key_cache_seconds) if key_cache_seconds else None
        )
        # Each key's last answer from the database to "still active?", and when it came: every
        # open websocket of a key shares it (app/context.py).
        self._checked: TTLCache[str, tuple[float, bool]] = TTLCache(
            maxsize=KEY_CACHE_SIZE, ttl=max(key_cache_seconds, 1.0)
        )
        # The read in flight for a key: its connections that find the last answer too old
        # all at once (they do, being timed alike) wait for one read rather than make their own.
        self._checking: dict[str, asyncio.Future[bool]] = {}

    async def authenticate(self, authorization: object) -> Principal:
        token = bearer_token(authorization)
        digest = api_key.digest(token)  # the one hash of the secret, for every check below
        # Digests of equal length: compare_digest leaks neither content nor length.
        if hmac.compare_digest(digest, self._admin_digest):
            return ADMIN
        if looks_like_token(token):
            return self.client_principal(token)
        key = self._keys.get(digest) if self._keys is not None else None
        if key is None:
            key = await api_key.find_active(digest)
            if key is None:
                raise Unauthenticated(INVALID_KEY)
            if self._keys is not None:
                self._keys[digest] = key
        return Principal(key_id=key.id, project_id=key.project_id)

    def forget(self, key_id: str) -> None:
        """A key revoked here: refused from the next request on."""
        self._checked.pop(key_id, None)
        if self._keys is not None:
            for digest, key in list(self._keys.items()):
                if key.id == key_id:
                    del self._keys[digest]

    def client_principal(self, token: str) -> Principal:
        claims = self.client_tokens.verify(token)
        return Principal(
            key_id=f"token:{claims.token_id}",
            project_id=claims.project_id,
            subject=claims.subject,
            assistant_ids=claims.assistant_ids,
            expires_at=claims.expires_at,
        )

    async def still_valid(self, principal: Principal, within: float = 0) -> bool:
        """False once the key was revoked or the client token expired (the admin key lasts as
        long as the process). An answer the database gave less than `within` seconds ago, for
        any connection of this key, will do."""
        if principal.is_client:
            return not principal.expired()
        if principal.is_admin:
            return True
        key_id = principal.key_id
        checked = self._checked.get(key_id)
        if checked is not None and time.monotonic() - checked[0] < within:
            return checked[1]
        reading = self._checking.get(key_id)
        if reading is None or within == 0:  # 0: a read begun before this call will not do
            reading = asyncio.ensure_future(self._read_active(key_id))
            self._checking[key_id] = reading
        # Shielded: a connection that leaves does not cancel the read the others wait for.
        return await asyncio.shield(reading)

    async def _read_active(self, key_id: str) -> bool:
        try:
            active = await api_key.is_active(key_id)
            self._checked[key_id] = (time.monotonic(), active)
            return active
        finally:
            if self._checking.get(key_id) is asyncio.current_task():
                del self._checking[key_id]
