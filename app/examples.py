"""The example chat page (development only): `GET /examples/chat` serves it, and
`POST /examples/chat/session` plays the app's backend for it: for a browser on this machine,
it makes sure the dev project has the example assistant and mints a client token for the
subject the page names. A real app's backend mints tokens with `createClientToken` and its
own project key, for the user it has signed in."""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from app.router import error_response, is_loopback, preflighted
from models.assistant import AssistantDocument, assistants

PAGES = Path(__file__).parent / "static" / "examples"
EXAMPLE_NAME = "Example chat"
EXAMPLE_MARK = {"threadline_example": "chat"}
TOKEN_SECONDS = 3600
# The assistant the page talks to: the built-in model, and a function the browser runs.
EXAMPLE_ASSISTANT: dict[str, Any] = {
    "name": EXAMPLE_NAME,
    "model": "threadline/scripted",
    "instructions": "You are the example chat's assistant.",
    "metadata": EXAMPLE_MARK,
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_time",
                "description": "The user's local time, from their browser.",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ],
}

router = APIRouter()


class SessionRequest(BaseModel):
    subject: str = Field(default="example-user", min_length=1, max_length=256)


@router.get("/examples/chat", include_in_schema=False)
async def chat_page() -> FileResponse:
    return FileResponse(PAGES / "chat.html", headers={"Cache-Control": "no-store"})


@router.get("/examples/chat.js", include_in_schema=False)
async def chat_script() -> FileResponse:
    return FileResponse(PAGES / "chat.js", media_type="text/javascript")


@router.post("/examples/chat/session", include_in_schema=False)
async def chat_session(request: Request) -> Response:
    """A client token for the page, from this machine only (it stands in for a backend that
    signed its user in, so it must not answer anyone else)."""
    dev_key: str | None = request.app.state.dev_key
    if dev_key is None or not is_loopback(request):
        return error_response(403, "The example's session route answers this machine only.")
    if not preflighted(request):  # another site's form or simple fetch cannot post here
        return error_response(400, "Send the session request as JSON.")
    try:
        given = SessionRequest.model_validate(await request.json())
    except ValueError as error:
        return error_response(400, f"The session request is invalid: {error}")
    authenticator = request.app.state.authenticator
    project_id = (await authenticator.authenticate(f"Bearer {dev_key}")).project_id
    assistant = await _example_assistant(project_id)
    token, expires_at = authenticator.client_tokens.mint(
        project_id, given.subject, [assistant.id], TOKEN_SECONDS
    )
    return JSONResponse(
        {
            "token": token,
            "expiresAt": expires_at.isoformat(),
            "subject": given.subject,
            "assistantId": assistant.id,
        },
        headers={"Cache-Control": "no-store"},
    )


async def _example_assistant(project_id: str) -> AssistantDocument:
    """The dev project's example assistant, made on first use."""
    found = await AssistantDocument.find_one(
        {"project_id": project_id, "metadata.threadline_example": "chat"}
    )
    if found is not None:
        return found
    return await assistants.insert(assistants.build(project_id, EXAMPLE_ASSISTANT))
