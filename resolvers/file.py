"""File queries and mutations; the bytes themselves are served by app/files.py."""

from typing import Annotated, Any

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from app.context import Info
from models.errors import BadUserInput
from models.pagination import PageRequest, SortOrder
from models.validation import validated
from schema.common import (
    PAGE_ARGUMENTS_HELP,
    After,
    Before,
    Connection,
    DeletedObject,
    First,
    Last,
    Order,
    input_data,
)
from schema.file import File, FileExpiresAfterInput, FilePurpose
from services import files as file_service


@strawberry.type
class FileQuery:
    @strawberry.field(description="A file by its id; null if there is none the caller may see.")
    async def file(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The file's id (`file-…`).")],
    ) -> File | None:
        context = info.context
        document = await context.services.files.find(context.project_id, id)
        return File.from_document(document, context.base_url) if document else None

    @strawberry.field(description=f"The project's files. {PAGE_ARGUMENTS_HELP}")
    async def files(
        self,
        info: Info,
        purpose: Annotated[
            FilePurpose | None,
            strawberry.argument(description="Only the files with this purpose; all if null."),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
    ) -> Connection[File]:
        context = info.context
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await context.services.files.page(
            context.project_id, request, purpose.value if purpose else None
        )
        return Connection[File].from_page(
            page, lambda document: File.from_document(document, context.base_url)
        )


@strawberry.type
class FileMutation:
    @strawberry.mutation(
        description="Uploads a file (GraphQL multipart request spec; send the "
        "`Apollo-Require-Preflight: true` header). Limit: THREADLINE_MAX_FILE_BYTES."
    )
    async def upload_file(
        self,
        info: Info,
        file: Annotated[
            Upload,
            strawberry.argument(
                description="The file, as a multipart part (its name at most 512 characters)."
            ),
        ],
        purpose: Annotated[
            FilePurpose,
            strawberry.argument(
                description="ASSISTANTS, VISION (PNG, JPEG, GIF or WebP images) or USER_DATA."
            ),
        ],
        expires_after: Annotated[
            FileExpiresAfterInput | None,
            strawberry.argument(
                description="Delete it after this long; kept until deleted if null."
            ),
        ] = None,
    ) -> File:
        if not isinstance(file, UploadFile):
            raise BadUserInput("file: send the file as a multipart upload.")
        context = info.context
        upload = file_service.Upload(file.filename or "", file.content_type, file.read)
        data: dict[str, Any] = {"purpose": purpose.value}
        if expires_after:
            data["expires_after"] = input_data(expires_after)
        given = validated(file_service.UploadFields, data, "")
        document = await context.services.files.upload(context.project_id, upload, given)
        return File.from_document(document, context.base_url)

    @strawberry.mutation(description="Deletes a file and its bytes.")
    async def delete_file(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The file's id.")],
    ) -> DeletedObject:
        await info.context.services.files.delete(info.context.project_id, id)
        return DeletedObject(id=id)
