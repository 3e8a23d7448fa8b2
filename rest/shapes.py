"""Documents as OpenAI's JSON: `object` tags, unix-second timestamps, `type`-tagged unions,
OpenAI's defaults where Threadline stores none. Internal fields never leave."""

from datetime import datetime
from typing import Any

from models.assistant import AssistantDocument


def seconds(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def tool_shape(tool: dict[str, Any]) -> dict[str, Any]:
    """`{type: function, function: {…}}`, `{type: file_search, file_search: {…}}`,
    `{type: code_interpreter}`: only the type's own field."""
    shaped: dict[str, Any] = {"type": tool["type"]}
    if tool["type"] == "function":
        shaped["function"] = {k: v for k, v in tool["function"].items() if v is not None}
    elif tool["type"] == "file_search":
        options = tool.get("file_search") or {}
        shaped["file_search"] = {k: v for k, v in options.items() if v is not None}
    return shaped


def response_format_shape(value: dict[str, Any] | None) -> Any:
    """OpenAI's `"auto"` for none (or auto); else `{type, json_schema: {…}}`."""
    if value is None or value.get("type") == "auto":
        return "auto"
    if value["type"] != "json_schema":
        return {"type": value["type"]}
    schema = {k: v for k, v in (value.get("json_schema") or {}).items() if v is not None}
    return {"type": "json_schema", "json_schema": schema}


def tool_resources_shape(value: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (value or {}).items() if v is not None}


def assistant(document: AssistantDocument) -> dict[str, Any]:
    data = document.model_dump(by_alias=True, mode="json")
    return {
        "id": document.id,
        "object": "assistant",
        "created_at": seconds(document.created_at),
        "name": document.name,
        "description": document.description,
        "model": document.model,
        "instructions": document.instructions,
        "tools": [tool_shape(tool) for tool in data["tools"]],
        "tool_resources": tool_resources_shape(data.get("tool_resources")),
        "metadata": document.metadata,
        "temperature": document.temperature if document.temperature is not None else 1.0,
        "top_p": document.top_p if document.top_p is not None else 1.0,
        "response_format": response_format_shape(data.get("response_format")),
    }


def deleted(object_id: str, kind: str) -> dict[str, Any]:
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}
