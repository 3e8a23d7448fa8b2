"""`/v1/threads/{thread_id}/messages`: each route reads the message within the path's thread
(the service's rule: another thread's message reads like an unknown one)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from models.pagination import POSITION
from models.validation import validated
from rest import shapes, thread_shapes
from rest.caller import Call, Svc
from rest.lists import ListQuery, envelope, list_query, page_request
from rest.requests import BODY, body, message_fields
from services.messages import CreateMessage, UpdateMessage

router = APIRouter(tags=["messages"])
MESSAGES = "/threads/{thread_id}/messages"
MESSAGE = MESSAGES + "/{message_id}"


@router.post(MESSAGES)
async def create_message(thread_id: str, request: Request, call: Call, svc: Svc) -> dict[str, Any]:
    given = validated(CreateMessage, message_fields(await body(request), BODY), BODY)
    document = await svc.messages.create(call.project_id, thread_id, given, BODY)
    return thread_shapes.message(document)


@router.get(MESSAGES)
async def list_messages(
    thread_id: str,
    call: Call,
    svc: Svc,
    query: Annotated[ListQuery, Depends(list_query("desc"))],
    run_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    thread = await svc.threads.get(call.project_id, thread_id)  # unknown: a 404, not []
    request = await page_request(
        query, lambda i: svc.messages.find(call.project_id, i, thread_id), POSITION
    )
    page = await svc.messages.page(call.project_id, thread, request, run_id)
    return envelope(page, thread_shapes.message, request)


@router.get(MESSAGE)
async def get_message(thread_id: str, message_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    return thread_shapes.message(await svc.messages.get(call.project_id, message_id, thread_id))


@router.post(MESSAGE)
async def update_message(
    thread_id: str, message_id: str, request: Request, call: Call, svc: Svc
) -> dict[str, Any]:
    given = validated(UpdateMessage, await body(request), BODY)
    await svc.messages.get(call.project_id, message_id, thread_id)
    document = await svc.messages.update(call.project_id, message_id, given)
    return thread_shapes.message(document)


@router.delete(MESSAGE)
async def delete_message(thread_id: str, message_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    await svc.messages.get(call.project_id, message_id, thread_id)
    await svc.messages.delete(call.project_id, message_id)
    return shapes.deleted(message_id, "thread.message")
