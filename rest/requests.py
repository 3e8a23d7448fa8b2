"""OpenAI's request bodies as the services' typed inputs: the few forms OpenAI accepts that
the services take in one shape only (`tool_choice: "auto"`, `response_format: "auto"`, a
message's `content` as a string or parts, attachments' `tools: [{type}]`)."""

from typing import Any

from fastapi import Request

from models.errors import BadUserInput


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


def tool_choice(value: Any) -> Any:
    """`"none"`/`"auto"`/`"required"` as the object the services take."""
    return {"type": value} if isinstance(value, str) else value


def message_fields(data: Any) -> Any:
    """A message as OpenAI sends it: `content` a string or a list of parts; attachments'
    tools as `{type}` objects."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    content = data.get("content")
    if isinstance(content, list):  # parts: the services' `content_parts`, same shapes
        data["content_parts"] = data.pop("content")
    attachments = data.get("attachments")
    if isinstance(attachments, list):
        data["attachments"] = [_attachment(item) for item in attachments]
    return data


def _attachment(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("tools"), list):
        tools = [t.get("type") if isinstance(t, dict) else t for t in item["tools"]]
        return {**item, "tools": tools}
    return item


def thread_fields(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    data = dict(data)
    if isinstance(data.get("messages"), list):
        data["messages"] = [message_fields(m) for m in data["messages"]]
    return data


def run_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A run's (or thread-and-run's) fields in the services' forms."""
    data = tools_fields(data)
    data.pop("stream", None)
    if "tool_choice" in data:
        data["tool_choice"] = tool_choice(data["tool_choice"])
    if isinstance(data.get("additional_messages"), list):
        data["additional_messages"] = [message_fields(m) for m in data["additional_messages"]]
    return data


def thread_and_run_fields(data: dict[str, Any]) -> dict[str, Any]:
    data = run_fields(data)
    thread = thread_fields(data.pop("thread", None) or {})
    if "tool_resources" in data:  # the run's own: on a new thread, the same as the thread's
        resources = data.pop("tool_resources")
        if isinstance(thread, dict):
            thread.setdefault("tool_resources", resources)
    data["thread"] = thread
    return data
