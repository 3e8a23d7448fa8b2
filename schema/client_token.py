"""Client tokens as GraphQL types (see app/client_tokens.py)."""

from datetime import datetime

import strawberry


@strawberry.input(description="Who a client token acts for, what it may run, and for how long.")
class CreateClientTokenInput:
    subject: str = strawberry.field(
        description="The end user the token acts for (your app's user id; 1 to 256 characters): "
        "the owner of the threads it creates and the only threads it sees."
    )
    assistant_ids: list[strawberry.ID] = strawberry.field(
        description="The assistants it may read and run (at most 32, of this project)."
    )
    ttl_seconds: int | None = strawberry.field(
        default=None, description="Its lifetime: 900 (15 minutes) by default, 86400 at most."
    )


@strawberry.type(
    description="A short-lived secret for one end user's browser; send it as "
    "`Authorization: Bearer <token>` until `expiresAt`."
)
class ClientToken:
    token: str = strawberry.field(description="The secret to send as a Bearer key.")
    expires_at: datetime = strawberry.field(description="When the token stops being accepted.")
    subject: str = strawberry.field(description="The end user the token acts for.")
    assistant_ids: list[strawberry.ID] = strawberry.field(
        description="The assistants it may read and run."
    )
