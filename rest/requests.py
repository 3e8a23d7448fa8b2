"""OpenAI's request bodies as the services' typed inputs: the few forms OpenAI accepts that
the services take in one shape only (`tool_choice: "auto"`, `response_format: "auto"`, a
message's `content` as a string or parts, attachments' `tools: [{type}]`)."""

from typing import Any

from fastapi import Request

from models.errors import BadUserInput
from models.validation import Where

BODY = Where(root="", camel=False)  # errors name a body's fields as OpenAI does


async def body(request: Request) -> dict[str, Any]:
    """The JSON object of the request, or a 400 saying what is wrong with it."""
    try:
        data = await request.json()
    except ValueError:
        raise BadUserInput("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadUserInput("The request body must be a JSON object.")
    return data


def response_format(value: Any) -> Any:
    return {"type": "auto"} if value == "auto" else value


def tools_fields(data: dict[str, Any]) -> dict[str, Any]:
    """An assistant's or run's fields, with OpenAI's string forms made objects."""
    data = dict(data)
    if "response_format" in data:
        data["response_format"] = response_format(data["response_format"])
    return data


def _refuse(data: dict[str, Any], name: str, where: Where, why: str) -> None:
    if name in data:
        raise where.bad(why, name)


def message_fields(data: Any, where: Where) -> Any:
    """OpenAI's message: `role` and `content` (a string or parts, the service's own form)
    required; attachments' `tools: [{type}]` as the service's `[type]`."""
    if not isinstance(data, dict):
        return data  # the typed input names what is wrong with it
    for name in ("role", "content"):
        if data.get(name) is None:
            raise where.bad("Field required", name)
    _refuse(data, "content_parts", where, "Extra inputs are not permitted")
    attachments = data.get("attachments")
    if isinstance(attachments, list):
        data = {**data, "attachments": [_attachment(item) for item in attachments]}
    return data


def _attachment(item: Any) -> Any:
    if not isinstance(item, dict) or not isinstance(item.get("tools"), list):
        return item
    tools = [t["type"] if isinstance(t, dict) and "type" in t else t for t in item["tools"]]
    return {**item, "tools": tools}


def thread_fields(data: dict[str, Any], where: Where) -> dict[str, Any]:
    """A new thread's fields, its seed messages as `message_fields`. OpenAI's create-time
    helper `tool_resources.file_search.vector_stores` is refused: make the store first."""
    resources = data.get("tool_resources")
    search = resources.get("file_search") if isinstance(resources, dict) else None
    if isinstance(search, dict):
        _refuse(
            search,
            "vector_stores",
            where.at("tool_resources", "file_search"),
            "not supported; create the vector store (POST /v1/vector_stores) and give its id "
            "in `vector_store_ids`.",
        )
    seeds = data.get("messages")
    if isinstance(seeds, list):
        messages = [message_fields(m, where.at("messages", i)) for i, m in enumerate(seeds)]
        data = {**data, "messages": messages}
    return data


def tool_choice(value: Any) -> Any:
    """`"none"`/`"auto"`/`"required"` as the object the services take."""
    return {"type": value} if isinstance(value, str) else value


def run_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A run's fields in the services' forms (`stream` is the route's own)."""
    data = tools_fields(data)
    data.pop("stream", None)
    if "tool_choice" in data:
        data["tool_choice"] = tool_choice(data["tool_choice"])
    extra = data.get("additional_messages")
    if isinstance(extra, list):
        where = BODY.at("additional_messages")
        data["additional_messages"] = [message_fields(m, where.at(i)) for i, m in enumerate(extra)]
    return data


def thread_and_run_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A run's fields, and its new thread's; the run's `tool_resources` are that thread's
    (on a thread of its own, they are the same thing)."""
    data = run_fields(data)
    thread = data.pop("thread", None) or {}
    if isinstance(thread, dict):
        thread = thread_fields(thread, BODY.at("thread"))
        if "tool_resources" in data:
            thread = {"tool_resources": data.pop("tool_resources"), **thread}
    data["thread"] = thread
    return data
