"""`/v1/threads/{thread_id}/messages`. Messages are looked up by id, so each route checks that
the message is in the path's thread: another thread's message reads like an unknown one."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from models.errors import NotFound
from models.message import MessageDocument
from models.validation import validated
from rest import shapes, thread_shapes
from rest.caller import Call, Svc
from rest.lists import ListQuery, envelope, list_query, page_request
from rest.requests import BODY, body, message_fields
from services import Services
from services.messages import CreateMessage, UpdateMessage

router = APIRouter(tags=["messages"])
MESSAGES = "/threads/{thread_id}/messages"
MESSAGE = MESSAGES + "/{message_id}"


async def _in_thread(
    svc: Services, project_id: str, thread_id: str, message_id: str
) -> MessageDocument | None:
    message = await svc.messages.find(project_id, message_id)
    return message if message is not None and message.thread_id == thread_id else None


async def _message(
    svc: Services, project_id: str, thread_id: str, message_id: str
) -> MessageDocument:
    message = await _in_thread(svc, project_id, thread_id, message_id)
    if message is None:
        raise NotFound("message", message_id)
    return message


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
    await svc.threads.get(call.project_id, thread_id)  # an unknown thread is a 404, not []
    request = await page_request(query, lambda i: _in_thread(svc, call.project_id, thread_id, i))
    page = await svc.messages.page(call.project_id, thread_id, request, run_id)
    return envelope(page, thread_shapes.message, request)


@router.get(MESSAGE)
async def get_message(thread_id: str, message_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    return thread_shapes.message(await _message(svc, call.project_id, thread_id, message_id))


@router.post(MESSAGE)
async def update_message(
    thread_id: str, message_id: str, request: Request, call: Call, svc: Svc
) -> dict[str, Any]:
    given = validated(UpdateMessage, await body(request), BODY)
    await _message(svc, call.project_id, thread_id, message_id)
    document = await svc.messages.update(call.project_id, message_id, given)
    return thread_shapes.message(document)


@router.delete(MESSAGE)
async def delete_message(thread_id: str, message_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    await _message(svc, call.project_id, thread_id, message_id)
    await svc.messages.delete(call.project_id, message_id)
    return shapes.deleted(message_id, "thread.message")
