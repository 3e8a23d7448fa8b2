"""Ids that point at other objects (files in attachments, image parts and tool resources;
vector stores in tool resources) must name objects of the caller's project: NOT_FOUND
otherwise, exactly as an unknown id reads anywhere else."""

from collections.abc import Iterable
from typing import Any

from models.errors import NotFound
from models.file import find_live
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
    file_ids = message_file_ids(messages)
    store_ids: list[str] = []
    if tool_resources is not None:
        if tool_resources.code_interpreter is not None:
            file_ids += tool_resources.code_interpreter.file_ids
        if tool_resources.file_search is not None:
            store_ids += tool_resources.file_search.vector_store_ids
    await check_files(project_id, file_ids)
    for store_id in dict.fromkeys(store_ids):
        await vector_stores.get(project_id, store_id)


async def check_files(project_id: str, file_ids: Iterable[str]) -> None:
    """NOT_FOUND for the first id that is not a live file of the project."""
    for file_id in dict.fromkeys(file_ids):
        if await find_live(project_id, file_id) is None:
            raise NotFound("file", file_id)


async def check_tool_resources(project_id: str, changes: dict[str, Any]) -> None:
    """An update's `tool_resources`, if it sets any."""
    given = changes.get("tool_resources")
    if given:
        resources = validated(ToolResources, given, "input.toolResources")
        await check_references(project_id, tool_resources=resources)
