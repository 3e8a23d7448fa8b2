"""Threads and messages as OpenAI's JSON (a first cut; the threads routes complete it)."""

from typing import Any

from models.message import MessageDocument
from models.thread import ThreadDocument
from rest.shapes import seconds, tool_resources_shape


def thread(document: ThreadDocument) -> dict[str, Any]:
    data = document.model_dump(mode="json")
    return {
        "id": document.id,
        "object": "thread",
        "created_at": seconds(document.created_at),
        "metadata": document.metadata,
        "tool_resources": tool_resources_shape(data.get("tool_resources")),
    }


def _part(part: dict[str, Any]) -> dict[str, Any]:
    return {"type": part["type"], part["type"]: part[part["type"]]}


def message(document: MessageDocument) -> dict[str, Any]:
    data = document.model_dump(mode="json")
    return {
        "id": document.id,
        "object": "thread.message",
        "created_at": seconds(document.created_at),
        "thread_id": document.thread_id,
        "status": document.status,
        "incomplete_details": document.incomplete_details,
        "completed_at": seconds(document.completed_at),
        "incomplete_at": seconds(document.incomplete_at),
        "role": document.role,
        "content": [_part(part) for part in data["content"]],
        "assistant_id": document.assistant_id,
        "run_id": document.run_id,
        "attachments": [
            {"file_id": a["file_id"], "tools": [{"type": t} for t in a["tools"]]}
            for a in data["attachments"]
        ],
        "metadata": document.metadata,
    }
