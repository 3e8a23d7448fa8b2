"""`GET /files/{id}/content`: a file's bytes, streamed, for a key of the file's project."""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from app.context import ADMIN_ON_PROJECT_DATA
from app.fairness import authenticate, client_address
from app.policy import Access
from app.router import error_response
from models import file_storage
from models.errors import RateLimited, Unauthenticated
from models.file import FileDocument

router = APIRouter()


@router.get("/files/{file_id}/content", response_model=None)
async def file_content(file_id: str, request: Request) -> StreamingResponse | JSONResponse:
    state = request.app.state
    authorization = request.headers.get("authorization")
    try:
        principal = await authenticate(
            state.authenticator, state.fairness, authorization, client_address(request)
        )
    except RateLimited as refusal:
        return error_response(429, refusal.message)
    except Unauthenticated as error:
        return error_response(401, error.message)
    if principal.project_id is None:
        return error_response(403, ADMIN_ON_PROJECT_DATA)
    document = await Access(principal, principal.project_id).file(file_id)
    if document is None:
        return error_response(404, f"No file found with id '{file_id}'.")
    return file_response(document)


def file_response(document: FileDocument) -> StreamingResponse:
    """The bytes, as an attachment of the type they were stored with (also /v1's)."""
    headers = {
        "content-length": str(document.bytes),
        # Never rendered in place: an uploaded page must not run as this origin.
        "content-disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
        "x-content-type-options": "nosniff",
    }
    return StreamingResponse(
        file_storage.chunks(document.id), media_type=document.content_type, headers=headers
    )
