"""`/v1/assistants`."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from models.validation import validated
from rest import shapes
from rest.caller import Call, Svc
from rest.lists import ListQuery, envelope, list_query, page_request
from rest.requests import BODY, body, tools_fields
from services.assistants import CreateAssistant, UpdateAssistant

router = APIRouter(tags=["assistants"])


@router.post("/assistants")
async def create_assistant(request: Request, call: Call, svc: Svc) -> dict[str, Any]:
    given = validated(CreateAssistant, tools_fields(await body(request)), BODY)
    return shapes.assistant(await svc.assistants.create(call.project_id, given))


@router.get("/assistants")
async def list_assistants(
    call: Call, svc: Svc, query: Annotated[ListQuery, Depends(list_query("desc"))]
) -> dict[str, Any]:
    request = await page_request(query, lambda i: svc.assistants.find(call.project_id, i))
    page = await svc.assistants.page(call.project_id, request)
    return envelope(page, shapes.assistant, request)


@router.get("/assistants/{assistant_id}")
async def get_assistant(assistant_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    return shapes.assistant(await svc.assistants.get(call.project_id, assistant_id))


@router.post("/assistants/{assistant_id}")
async def update_assistant(
    assistant_id: str, request: Request, call: Call, svc: Svc
) -> dict[str, Any]:
    given = validated(UpdateAssistant, tools_fields(await body(request)), BODY)
    document = await svc.assistants.update(call.project_id, assistant_id, given)
    return shapes.assistant(document)


@router.delete("/assistants/{assistant_id}")
async def delete_assistant(assistant_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    await svc.assistants.delete(call.project_id, assistant_id)
    return shapes.deleted(assistant_id, "assistant")
