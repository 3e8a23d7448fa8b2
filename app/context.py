"""The typed per-request context: who is calling, and the project their key opens."""

import time
from typing import Any

import strawberry
from strawberry.fastapi import BaseContext

from app.auth import MISSING_KEY, Authenticator, Principal
from app.batches import Batches
from app.client_tokens import EXPIRED_TOKEN
from app.fairness import Fairness, authenticate
from app.policy import Access
from app.settings import Settings
from engine.engine import Engine
from models.errors import Forbidden, RateLimited, ThreadlineError, Unauthenticated
from services import Services

ADMIN_ON_PROJECT_DATA = "The admin key manages projects and keys; use a project key here."
PROJECT_ON_ADMIN = "Only the admin key manages projects and API keys."
PROJECT_KEY_ONLY = "Only a project key (the app's backend) mints client tokens."


class Context(BaseContext):
    """HTTP: authenticated from the Authorization header when the context is made.
    Websockets: from the `connection_init` payload (`authenticate_connection`)."""

    def __init__(
        self, settings: Settings, authenticator: Authenticator, engine: Engine, services: Services
    ) -> None:
        super().__init__()
        self.settings = settings
        self.engine = engine
        self.services = services
        self.authenticator = authenticator
        self.principal: Principal | None = None
        self._access: Access | None = None
        self.auth_error: ThreadlineError = Unauthenticated(MISSING_KEY)
        # Set by the app: bad keys are counted per client address (app/fairness.py).
        self.fairness: Fairness | None = None
        self.address: str | None = None
        self._checked_at = time.monotonic()
        # Why the operation was refused before it ran (no key, a rate limit): over HTTP, the
        # response's status and Retry-After follow it (app/router.py).
        self.refusal: ThreadlineError | None = None

    async def authenticate(self, authorization: object) -> None:
        """Remembers the caller, or why there is none (raised when the operation starts): a
        bad key, or RATE_LIMITED once this address has sent too many bad keys."""
        try:
            self.principal = await authenticate(
                self.authenticator, self.fairness, authorization, self.address
            )
            self._checked_at = time.monotonic()
        except (Unauthenticated, RateLimited) as error:
            self.principal, self.auth_error = None, error

    async def authenticate_connection(self) -> None:
        """A websocket's `connection_init`: `{"authorization": "Bearer <key>"}`; without it, the
        handshake's `Authorization` header (what server-side clients send)."""
        params = self.connection_params if isinstance(self.connection_params, dict) else {}
        given = params.get("authorization", params.get("Authorization"))
        if given is None and self.request is not None:
            given = self.request.headers.get("authorization")
        await self.authenticate(given)
        self.authenticated()

    def authenticated(self) -> Principal:
        if self.principal is None:
            raise self.auth_error
        return self.principal

    @property
    def base_url(self) -> str:
        """Where this server was reached, for the links it hands out."""
        return str(self.request.base_url) if self.request is not None else "/"

    @property
    def project_id(self) -> str:
        """The caller's project; every project-scoped read and write goes through this."""
        project_id = self.authenticated().project_id
        if project_id is None:
            raise Forbidden(ADMIN_ON_PROJECT_DATA)
        return project_id

    @property
    def access(self) -> Access:
        """What the caller may see of its project (app/policy.py)."""
        principal = self.authenticated()
        if self._access is None or self._access.principal is not principal:
            turns = self.fairness.resolvers if self.fairness is not None else None
            batches = Batches(self.project_id, turns, principal.share_key)
            self._access = Access(principal, self.project_id, batches)
        return self._access

    def require_admin(self) -> None:
        if not self.authenticated().is_admin:
            raise Forbidden(PROJECT_ON_ADMIN)

    def require_project_key(self) -> str:
        """The project of a project key; the admin key and client tokens are refused."""
        if self.authenticated().is_client:
            raise Forbidden(PROJECT_KEY_ONLY)
        return self.project_id

    def checked_within(self, at_most_every: float) -> bool:
        """Whether `ensure_still_authorized(at_most_every)` would return without asking: a
        caller with a token still unexpired, whose key this connection checked at most half
        the period ago (so that a revocation is seen within the period)."""
        principal = self.principal
        return (
            principal is not None
            and not principal.expired()
            and time.monotonic() - self._checked_at < at_most_every / 2
        )

    async def ensure_still_authorized(
        self, at_most_every: float = 0, this_connection: bool = True
    ) -> None:
        """For long-lived connections: raises UNAUTHENTICATED once the key has been revoked
        (known within `at_most_every` seconds; 0: the database is asked now) or the client
        token has expired (checked every time: it costs no lookup). `this_connection` False:
        this connection's own last check does not count, only the process's answer, which a
        revocation made through this process clears at once."""
        if this_connection and self.checked_within(at_most_every):
            return
        principal = self.authenticated()
        if principal.expired():
            self.principal, self.auth_error = None, Unauthenticated(EXPIRED_TOKEN)
            raise self.auth_error
        # The last answer any connection of the key got, at most half the period old too: a
        # key's thousand connections make one read, not a thousand.
        if not await self.authenticator.still_valid(principal, within=at_most_every / 2):
            self.principal, self.auth_error = None, Unauthenticated("The API key has been revoked.")
            raise self.auth_error
        self._checked_at = time.monotonic()


Info = strawberry.Info[Context, Any]
