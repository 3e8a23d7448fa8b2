"""Projects and API keys as GraphQL types (the admin key's domain)."""

from datetime import datetime

import strawberry

from models.api_key import ApiKeyDocument
from models.project import ProjectDocument


@strawberry.type(description="A project: its keys see only its objects.")
class Project:
    id: strawberry.ID = strawberry.field(description="The project's id (`proj_…`).")
    name: str = strawberry.field(description="The project's name (1 to 256 characters).")
    created_at: datetime = strawberry.field(description="When the project was created.")
    indexed_metadata_keys: list[str] = strawberry.field(
        description="The thread metadata keys `threads(metadata: …)` may filter on."
    )

    @classmethod
    def from_document(cls, document: ProjectDocument) -> "Project":
        return cls(
            id=strawberry.ID(document.id),
            name=document.name,
            created_at=document.created_at,
            indexed_metadata_keys=list(document.indexed_metadata_keys),
        )


@strawberry.input(description="Fields left out stay as they are.")
class UpdateProjectInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The project's new name (1 to 256 characters)."
    )
    indexed_metadata_keys: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the thread metadata keys listings may filter on (at most 16).",
    )


@strawberry.type(description="An API key, without its secret.")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="The key's id (`key_…`), not its secret.")
    project_id: strawberry.ID = strawberry.field(description="The project the key sees.")
    name: str | None = strawberry.field(description="The name it was given, if any.")
    redacted_key: str = strawberry.field(description="The key's last characters.")
    created_at: datetime = strawberry.field(description="When the key was created.")
    revoked_at: datetime | None = strawberry.field(
        description="When the key was first revoked; null while it is valid."
    )

    @classmethod
    def from_document(cls, document: ApiKeyDocument) -> "ApiKey":
        return cls(
            id=strawberry.ID(document.id),
            project_id=strawberry.ID(document.project_id),
            name=document.name,
            redacted_key=document.redacted,
            created_at=document.created_at,
            revoked_at=document.revoked_at,
        )


@strawberry.type(description="A new API key with its secret: `key` is shown this once only.")
class ApiKeySecret:
    id: strawberry.ID = strawberry.field(description="The key's id (`key_…`).")
    key: str = strawberry.field(
        description="The secret, to send as `Authorization: Bearer <key>`; never shown again."
    )
    project_id: strawberry.ID = strawberry.field(description="The project the key sees.")
    name: str | None = strawberry.field(description="The name it was given, if any.")
    created_at: datetime = strawberry.field(description="When the key was created.")
