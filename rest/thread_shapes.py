"""Threads and messages as OpenAI's JSON: pure functions of the documents, also applied to the
snapshots stored in `thread.created` and `thread.message.*` events (models/event.py), which
are the documents' dumps (engine/writer.py: `message_event`; ThreadDocument.snapshot)."""

from typing import Any

from models.message import Annotation, Attachment, ContentPart, MessageDocument
from models.thread import ThreadDocument
from rest.shapes import seconds, tool_resources_shape


def thread(document: ThreadDocument) -> dict[str, Any]:
    return {
        "id": document.id,
        "object": "thread",
        "created_at": seconds(document.created_at),
        "metadata": document.metadata,
        "tool_resources": tool_resources_shape(
            document.tool_resources.model_dump() if document.tool_resources else None
        ),
    }


def thread_from_snapshot(data: dict[str, Any]) -> dict[str, Any]:
    return thread(ThreadDocument.model_validate(data))


def message(document: MessageDocument) -> dict[str, Any]:
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
        "content": [content_part(part) for part in document.content],
        "assistant_id": document.assistant_id,
        "run_id": document.run_id,
        "attachments": [attachment(item) for item in document.attachments],
        "metadata": document.metadata,
    }


def message_from_snapshot(data: dict[str, Any]) -> dict[str, Any]:
    """A `thread.message.*` event's `message`, as stored."""
    return message(MessageDocument.model_validate(data))


def content_part(part: ContentPart) -> dict[str, Any]:
    """`{type, <type>: …}`: only the field its type names (the others are stored as null)."""
    if part.type == "text" and part.text is not None:
        value = part.text
        shaped = {"value": value.value, "annotations": [annotation(a) for a in value.annotations]}
        return {"type": "text", "text": shaped}
    if part.type == "image_file" and part.image_file is not None:
        return {"type": "image_file", "image_file": part.image_file.model_dump()}
    if part.type == "image_url" and part.image_url is not None:
        url = part.image_url
        return {"type": "image_url", "image_url": {"url": str(url.url), "detail": url.detail}}
    return {"type": "refusal", "refusal": part.refusal or ""}


def annotation(item: Annotation) -> dict[str, Any]:
    reference = item.file_citation or item.file_path
    return {
        "type": item.type,
        "text": item.text,
        "start_index": item.start_index,
        "end_index": item.end_index,
        item.type: {"file_id": reference.file_id if reference else ""},
    }


def attachment(item: Attachment) -> dict[str, Any]:
    return {"file_id": item.file_id, "tools": [{"type": tool} for tool in item.tools]}
