"""Administration: projects and API keys, for the admin key only."""

from typing import Annotated

import strawberry

from app.context import Info
from models import api_key
from models.pagination import PageRequest, SortOrder
from models.project import create_project, get_project, page_projects, update_project
from schema.admin import ApiKey, ApiKeySecret, Project, UpdateProjectInput
from schema.common import (
    PAGE_ARGUMENTS_HELP,
    After,
    Before,
    Connection,
    First,
    Last,
    Order,
    input_data,
)


@strawberry.type
class AdminQuery:
    @strawberry.field(description=f"Every project (admin key only). {PAGE_ARGUMENTS_HELP}")
    async def projects(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
    ) -> Connection[Project]:
        info.context.require_admin()
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        return Connection[Project].from_page(await page_projects(request), Project.from_document)

    @strawberry.field(description=f"A project's API keys (admin key only). {PAGE_ARGUMENTS_HELP}")
    async def api_keys(
        self,
        info: Info,
        project_id: Annotated[
            strawberry.ID, strawberry.argument(description="The project's id (`proj_…`).")
        ],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
    ) -> Connection[ApiKey]:
        info.context.require_admin()
        project = await get_project(project_id)
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await api_key.page_api_keys(project.id, request)
        return Connection[ApiKey].from_page(page, ApiKey.from_document)


@strawberry.type
class AdminMutation:
    @strawberry.mutation(description="Creates a project (admin key only).")
    async def create_project(
        self,
        info: Info,
        name: Annotated[
            str, strawberry.argument(description="The project's name (1 to 256 characters).")
        ],
    ) -> Project:
        info.context.require_admin()
        return Project.from_document(await create_project(name))

    @strawberry.mutation(
        description="Changes a project's name or the thread metadata keys it indexes "
        "(admin key only)."
    )
    async def update_project(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The project's id.")],
        input: Annotated[
            UpdateProjectInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> Project:
        info.context.require_admin()
        return Project.from_document(await update_project(id, input_data(input)))

    @strawberry.mutation(description="A new key for a project; its secret is shown this once.")
    async def create_api_key(
        self,
        info: Info,
        project_id: Annotated[
            strawberry.ID, strawberry.argument(description="The project the key is for.")
        ],
        name: Annotated[
            str | None,
            strawberry.argument(description="A name to tell the key by (at most 256 characters)."),
        ] = None,
    ) -> ApiKeySecret:
        info.context.require_admin()
        project = await get_project(project_id)
        document, secret = await api_key.create_api_key(project.id, name)
        return ApiKeySecret(
            id=strawberry.ID(document.id),
            key=secret,
            project_id=strawberry.ID(document.project_id),
            name=document.name,
            created_at=document.created_at,
        )

    @strawberry.mutation(
        description="Revokes a key and answers it, `revokedAt` set (revoking it again keeps the "
        "first time): refused at once on this server, open websockets included; other server "
        "processes refuse it within THREADLINE_WS_AUTH_RECHECK_SECONDS. It stays listed."
    )
    async def revoke_api_key(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The key's id (`key_…`).")],
    ) -> ApiKey:
        info.context.require_admin()
        revoked = await api_key.revoke(id)
        info.context.authenticator.forget(id)
        return ApiKey.from_document(revoked)
