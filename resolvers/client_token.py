"""`createClientToken`: a project key (the app's backend) mints a token for one end user."""

from typing import Annotated

import strawberry

from app.client_tokens import check_request
from app.context import Info
from models.assistant import AssistantDocument
from models.errors import NotFound
from schema.client_token import ClientToken, CreateClientTokenInput


async def _check_assistants(project_id: str, assistant_ids: list[str]) -> None:
    """Each one of this project's; another project's reads like an unknown id."""
    found = (
        await AssistantDocument.get_pymongo_collection()
        .find({"_id": {"$in": assistant_ids}, "project_id": project_id}, {"_id": 1})
        .to_list()
    )
    missing = [item for item in assistant_ids if item not in {row["_id"] for row in found}]
    if missing:
        raise NotFound("assistant", missing[0])


@strawberry.type
class ClientTokenMutation:
    @strawberry.mutation(
        description="A short-lived token for one end user (`subject`) of the app, to use from "
        "a browser: it sees and creates that subject's threads only, and runs only "
        "`assistantIds`. Project key only."
    )
    async def create_client_token(
        self,
        info: Info,
        input: Annotated[
            CreateClientTokenInput, strawberry.argument(description="The token's grant.")
        ],
    ) -> ClientToken:
        project_id = info.context.require_project_key()
        ids = [str(assistant_id) for assistant_id in input.assistant_ids]
        granted, ttl = check_request(input.subject, ids, input.ttl_seconds)
        if granted:
            await _check_assistants(project_id, granted)
        tokens = info.context.authenticator.client_tokens
        token, expires_at = tokens.mint(project_id, input.subject, granted, ttl)
        return ClientToken(
            token=token,
            expires_at=expires_at,
            subject=input.subject,
            assistant_ids=[strawberry.ID(assistant_id) for assistant_id in granted],
        )
