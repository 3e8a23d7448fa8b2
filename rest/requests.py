"""OpenAI's request bodies as the services' typed inputs: the few forms OpenAI accepts that
the services take in one shape only (`tool_choice: "auto"`, `response_format: "auto"`, a
message's `content` as a string or parts, attachments' `tools: [{type}]`)."""

from typing import Any

from fastapi import Request

from models.errors import BadUserInput

IGNORED = frozenset({"stream"})  # read by the route itself


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
