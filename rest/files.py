"""`/v1/files`: upload (multipart), list, retrieve, delete, and the bytes.

Multipart needs no CSRF guard here, unlike GraphQL's: /v1 authenticates by the Authorization
header only, which a cross-site form cannot send. The upload's size is capped as GraphQL's
is (app/body_limit.py by its declared length, then the service while it streams)."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import FormData, UploadFile

from app.files import file_response
from models.errors import BadUserInput
from models.validation import validated
from rest import file_shapes
from rest.caller import Call, Svc
from rest.lists import ListQuery, envelope, list_query, page_request
from rest.requests import BODY
from services.files import Upload, UploadFields

router = APIRouter(tags=["files"])
# OpenAI's files list: up to 10,000 a page, all of them by default.
FILES_LIMIT = 10_000
# A form's fields besides `file`: `purpose`, `expires_after[anchor]`, `expires_after[seconds]`.
MAX_FORM_FIELDS = 8
BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def form_fields(form: FormData) -> dict[str, Any]:
    """The fields as the SDKs nest them: `expires_after[seconds]=3600` is
    `{"expires_after": {"seconds": "3600"}}` (the typed input makes the number)."""
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == "file":
            continue
        name, _, rest = key.partition("[")
        path = [name, *BRACKETS.findall("[" + rest)] if rest else [name]
        place = data
        for part in path[:-1]:
            inner = place.setdefault(part, {})
            if not isinstance(inner, dict):
                raise BadUserInput(f"{key}: {part} is given twice.", param=name)
            place = inner
        place[path[-1]] = value
    return data


@router.post("/files")
async def upload_file(request: Request, call: Call, svc: Svc) -> dict[str, Any]:
    async with request.form(max_files=1, max_fields=MAX_FORM_FIELDS) as form:
        sent = form.get("file")
        if not isinstance(sent, UploadFile):
            raise BadUserInput("file: send the file as a multipart/form-data part.", param="file")
        given = validated(UploadFields, form_fields(form), BODY)
        upload = Upload(sent.filename or "", sent.content_type, sent.read)
        document = await svc.files.upload(call.project_id, upload, given)
    return file_shapes.file(document)


@router.get("/files")
async def list_files(
    call: Call,
    svc: Svc,
    query: Annotated[ListQuery, Depends(list_query("desc", FILES_LIMIT, FILES_LIMIT))],
    purpose: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    request = await page_request(query, lambda i: svc.files.find(call.project_id, i))
    page = await svc.files.page(call.project_id, request, purpose)
    return envelope(page, file_shapes.file, request)


@router.get("/files/{file_id}")
async def get_file(file_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    return file_shapes.file(await svc.files.get(call.project_id, file_id))


@router.delete("/files/{file_id}")
async def delete_file(file_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    await svc.files.delete(call.project_id, file_id)
    return file_shapes.file_deleted(file_id)


@router.get("/files/{file_id}/content", response_model=None)
async def file_content(file_id: str, call: Call, svc: Svc) -> StreamingResponse:
    return file_response(await svc.files.get(call.project_id, file_id))
