"""Who is calling a `/v1` route: a project key (or, for the admin routes, the admin key),
authenticated and within its rate limit, as for GraphQL (the same authenticator and the same
per-key counts). A request holds one of its key's operation slots (app/fairness.py) until the
route returns: a streamed run's events are not counted, as subscriptions are not."""

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.auth import ADMIN, Principal
from app.context import ADMIN_ON_PROJECT_DATA
from app.fairness import Fairness, authenticate, client_address
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


async def caller(request: Request) -> AsyncIterator[Caller]:
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
    with _in_flight(request, principal):
        yield Caller(principal=principal, project_id=principal.project_id)


async def admin(request: Request) -> AsyncIterator[Principal]:
    """A FastAPI dependency for the admin routes: the admin key, or Forbidden (project keys
    and client tokens alike). An unguarded app (benchmarks) guards nothing here either."""
    if getattr(request.app.state, "unguarded", None) is not None:
        yield ADMIN
        return
    principal = await _authenticated(request)
    if not principal.is_admin:
        raise Forbidden(ADMIN_ONLY)
    await _within_limit(request, principal)
    with _in_flight(request, principal):
        yield principal


async def _authenticated(request: Request) -> Principal:
    """The caller; a bad key counts against the client's address (RATE_LIMITED past it)."""
    state = request.app.state
    return await authenticate(
        state.authenticator,
        state.fairness,
        request.headers.get("authorization"),
        client_address(request),
    )


async def _within_limit(request: Request, principal: Principal) -> None:
    limits: RateLimits | None = request.app.state.rate_limits
    if limits is not None:
        await limits.check(principal)


def _in_flight(request: Request, principal: Principal) -> AbstractContextManager[None]:
    fairness: Fairness | None = request.app.state.fairness
    if fairness is None:
        return nullcontext()
    return fairness.operations.slot(principal.rate_key)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


# What a route declares to get its caller and the services.
# scope="function": the slot is given back when the route returns, not after the response is sent.
Call = Annotated[Caller, Depends(caller, scope="function")]
Admin = Annotated[Principal, Depends(admin, scope="function")]
Svc = Annotated[Services, Depends(services)]
