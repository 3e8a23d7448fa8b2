"""`/v1/threads` (OpenAI has no route listing threads; GraphQL's `threads` does that)."""

from typing import Any

from fastapi import APIRouter, Request

from models.validation import validated
from rest import shapes, thread_shapes
from rest.caller import Call, Svc
from rest.requests import BODY, body, thread_fields
from services.threads import CreateThread, UpdateThread

router = APIRouter(tags=["threads"])


@router.post("/threads")
async def create_thread(request: Request, call: Call, svc: Svc) -> dict[str, Any]:
    """OpenAI's fields, and Threadline's `owner` (the end user whose client tokens see it)."""
    given = validated(CreateThread, thread_fields(await body(request), BODY), BODY)
    return thread_shapes.thread(await svc.threads.create(call.project_id, given, BODY))


@router.get("/threads/{thread_id}")
async def get_thread(thread_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    return thread_shapes.thread(await svc.threads.get(call.project_id, thread_id))


@router.post("/threads/{thread_id}")
async def update_thread(thread_id: str, request: Request, call: Call, svc: Svc) -> dict[str, Any]:
    given = validated(UpdateThread, await body(request), BODY)
    return thread_shapes.thread(await svc.threads.update(call.project_id, thread_id, given))


@router.delete("/threads/{thread_id}")
async def delete_thread(thread_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    await svc.threads.delete(call.project_id, thread_id)
    return shapes.deleted(thread_id, "thread")
