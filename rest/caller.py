"""Who is calling a `/v1` route: a project key (or, for the admin routes, the admin key),
authenticated and within its rate limit, as for GraphQL (the same authenticator and the same
per-key counts)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.auth import ADMIN, Authenticator, Principal
from app.context import ADMIN_ON_PROJECT_DATA
from app.limits import RateLimits
from models.errors import Forbidden
from services import Services

CLIENT_TOKENS_USE_GRAPHQL = (
    "Client tokens are for frontends, over GraphQL; the /v1 API takes a project key."
)
ADMIN_ONLY = "Only the admin key may call this route."


@dataclass(frozen=True)
class Caller:
    """A project key's caller: every read and write of a route is scoped to `project_id`."""

    principal: Principal
    project_id: str


async def caller(request: Request) -> Caller:
    """A FastAPI dependency: raises Unauthenticated, Forbidden or RateLimited."""
    principal: Principal | None = getattr(request.app.state, "unguarded", None)
    if principal is None:
        principal = await _authenticated(request)
        if principal.project_id is None:
            raise Forbidden(ADMIN_ON_PROJECT_DATA)
        if principal.is_client:
            raise Forbidden(CLIENT_TOKENS_USE_GRAPHQL)
        await _within_limit(request, principal)
    assert principal.project_id is not None
    return Caller(principal=principal, project_id=principal.project_id)


async def admin(request: Request) -> Principal:
    """A FastAPI dependency for the admin routes: the admin key, or Forbidden (project keys
    and client tokens alike). An unguarded app (benchmarks) guards nothing here either."""
    if getattr(request.app.state, "unguarded", None) is not None:
        return ADMIN
    principal = await _authenticated(request)
    if not principal.is_admin:
        raise Forbidden(ADMIN_ONLY)
    await _within_limit(request, principal)
    return principal


async def _authenticated(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(request.headers.get("authorization"))


async def _within_limit(request: Request, principal: Principal) -> None:
    limits: RateLimits | None = request.app.state.rate_limits
    if limits is not None:
        await limits.check(principal)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


# What a route declares to get its caller and the services.
Call = Annotated[Caller, Depends(caller)]
Admin = Annotated[Principal, Depends(admin)]
Svc = Annotated[Services, Depends(services)]
