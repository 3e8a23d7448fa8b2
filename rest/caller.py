"""Who is calling a `/v1` route: a project key, authenticated and within its rate limit, as
for GraphQL (the same authenticator and the same per-key counts)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.auth import Authenticator, Principal
from app.context import ADMIN_ON_PROJECT_DATA
from app.limits import RateLimits
from app.policy import Access
from models.errors import Forbidden
from services import Services

CLIENT_TOKENS_USE_GRAPHQL = (
    "Client tokens are for frontends, over GraphQL; the /v1 API takes a project key."
)


@dataclass(frozen=True)
class Caller:
    principal: Principal
    project_id: str
    access: Access
    base_url: str


async def caller(request: Request) -> Caller:
    """A FastAPI dependency: raises Unauthenticated, Forbidden or RateLimited."""
    principal: Principal | None = getattr(request.app.state, "unguarded", None)
    if principal is None:
        authenticator: Authenticator = request.app.state.authenticator
        principal = await authenticator.authenticate(request.headers.get("authorization"))
        if principal.project_id is None:
            raise Forbidden(ADMIN_ON_PROJECT_DATA)
        if principal.is_client:
            raise Forbidden(CLIENT_TOKENS_USE_GRAPHQL)
        limits: RateLimits | None = request.app.state.rate_limits
        if limits is not None:
            await limits.check(principal)
    assert principal.project_id is not None
    return Caller(
        principal=principal,
        project_id=principal.project_id,
        access=Access(principal, principal.project_id),
        base_url=str(request.base_url),
    )


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


# What a route declares to get its caller and the services.
Call = Annotated[Caller, Depends(caller)]
Svc = Annotated[Services, Depends(services)]
