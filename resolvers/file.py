"""File queries and mutations; the bytes themselves are served by app/files.py."""

from typing import Any

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from app.context import Info
from models.errors import BadUserInput
from models.pagination import PageRequest, SortOrder
from models.validation import validated
from schema.common import PAGE_ARGUMENTS_HELP, Connection, DeletedObject, input_data
from schema.file import File, FileExpiresAfterInput, FilePurpose
from services import files as file_service


@strawberry.type
class FileQuery:
    @strawberry.field
    async def file(self, info: Info, id: strawberry.ID) -> File | None:
        context = info.context
        document = await context.services.files.find(context.project_id, id)
        return File.from_document(document, context.base_url) if document else None

    @strawberry.field(description=f"The project's files. {PAGE_ARGUMENTS_HELP}")
    async def files(
        self,
        info: Info,
        purpose: FilePurpose | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.DESC,
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
        file: Upload,
        purpose: FilePurpose,
        expires_after: FileExpiresAfterInput | None = None,
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
    async def delete_file(self, info: Info, id: strawberry.ID) -> DeletedObject:
        await info.context.services.files.delete(info.context.project_id, id)
        return DeletedObject(id=id)
