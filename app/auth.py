"""Who is calling: the admin key or a project's API key, from `Authorization: Bearer <key>`."""

import hashlib
import hmac
from dataclasses import dataclass

from models import api_key
from models.errors import Unauthenticated

ADMIN_KEY_ID = "admin"
MAX_KEY_LENGTH = 256
MISSING_KEY = "Missing API key: send `Authorization: Bearer <key>`."
INVALID_KEY = "The API key is invalid or has been revoked."


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a project key (with its project) or the admin key (none)."""

    key_id: str
    project_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.project_id is None


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
    """Checks keys: the admin key in constant time, project keys by their digest."""

    def __init__(self, admin_key: str) -> None:
        self._admin_digest = hashlib.sha256(admin_key.encode()).digest()

    async def authenticate(self, authorization: object) -> Principal:
        token = bearer_token(authorization)
        # Digests of equal length: compare_digest leaks neither content nor length.
        if hmac.compare_digest(hashlib.sha256(token.encode()).digest(), self._admin_digest):
            return ADMIN
        key = await api_key.find_active(token)
        if key is None:
            raise Unauthenticated(INVALID_KEY)
        return Principal(key_id=key.id, project_id=key.project_id)

    async def still_valid(self, principal: Principal) -> bool:
        """False once the key was revoked (the admin key lasts as long as the process)."""
        return principal.is_admin or await api_key.is_active(principal.key_id)
