"""Ids that point at other objects (files in attachments, image parts and tool resources;
vector stores in tool resources) must name objects of the caller's project: NOT_FOUND
otherwise, exactly as an unknown id reads anywhere else. An image part's file must be an
image a vision model takes (BAD_USER_INPUT otherwise); its purpose may be any (OpenAI takes
VISION and ASSISTANTS files)."""

from collections.abc import Iterable
from typing import Any

from models.errors import BadUserInput, NotFound
from models.file import IMAGE_TYPES, FileDocument, find_live
from models.message import MessageDocument
from models.tools import ToolResources
from models.validation import validated
from models.vector_store import vector_stores


def message_file_ids(messages: Iterable[MessageDocument]) -> list[str]:
    ids = []
    for message in messages:
        ids += [attachment.file_id for attachment in message.attachments]
        ids += [part.image_file.file_id for part in message.content if part.image_file]
    return ids


async def check_references(
    project_id: str,
    messages: Iterable[MessageDocument] = (),
    tool_resources: ToolResources | None = None,
) -> None:
    messages = list(messages)
    file_ids = message_file_ids(messages)
    store_ids: list[str] = []
    if tool_resources is not None:
        if tool_resources.code_interpreter is not None:
            file_ids += tool_resources.code_interpreter.file_ids
        if tool_resources.file_search is not None:
            store_ids += tool_resources.file_search.vector_store_ids
    found = await check_files(project_id, file_ids)
    _check_images(messages, found)
    for store_id in dict.fromkeys(store_ids):
        await vector_stores.get(project_id, store_id)


async def check_files(project_id: str, file_ids: Iterable[str]) -> dict[str, FileDocument]:
    """The files by id; NOT_FOUND for the first id that is not a live file of the project."""
    found = {}
    for file_id in dict.fromkeys(file_ids):
        document = await find_live(project_id, file_id)
        if document is None:
            raise NotFound("file", file_id)
        found[file_id] = document
    return found


def _check_images(messages: list[MessageDocument], files: dict[str, FileDocument]) -> None:
    image_ids = [part.image_file.file_id for m in messages for part in m.content if part.image_file]
    for file in (files[file_id] for file_id in image_ids):
        if file.content_type not in IMAGE_TYPES:
            raise BadUserInput(
                f"IMAGE_FILE part: file {file.id} ({file.filename}, {file.content_type}) is "
                "not an image a model can see; image parts take png, jpeg, gif or webp files."
            )


async def check_tool_resources(project_id: str, changes: dict[str, Any]) -> None:
    """An update's `tool_resources`, if it sets any."""
    given = changes.get("tool_resources")
    if given:
        resources = validated(ToolResources, given, "input.toolResources")
        await check_references(project_id, tool_resources=resources)
