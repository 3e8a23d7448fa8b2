"""Runs and run steps as OpenAI's JSON."""

from typing import Any

from models.run import RunDocument
from models.run_step import RunStepDocument
from rest.shapes import response_format_shape, seconds, tool_shape

# `include[]` value that adds file_search results' content to a step's tool calls.
RESULT_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
PLAIN_CHOICES = frozenset({"none", "auto", "required"})


def tool_choice_shape(choice: dict[str, Any]) -> Any:
    """`"auto"`, `"none"`, `"required"`, or `{type, function: {name}}` / `{type}`."""
    if choice["type"] in PLAIN_CHOICES:
        return choice["type"]
    if choice["type"] == "function":
        return {"type": "function", "function": {"name": choice["function_name"]}}
    return {"type": choice["type"]}


def tool_call_shape(call: dict[str, Any], with_content: bool = False) -> dict[str, Any]:
    shaped: dict[str, Any] = {"id": call["id"], "type": call["type"]}
    if call["type"] == "function":
        function = call["function"] or {}
        shaped["function"] = {
            "name": function.get("name", ""),
            "arguments": function.get("arguments", ""),
            "output": function.get("output"),
        }
    elif call["type"] == "file_search":
        search = call.get("file_search") or {}
        results = []
        for result in search.get("results", []):
            item = {k: result[k] for k in ("file_id", "file_name", "score")}
            if with_content:
                item["content"] = [{"type": "text", "text": result.get("content", "")}]
            results.append(item)
        shaped["file_search"] = {
            "ranking_options": search.get("ranking_options")
            or {"ranker": "auto", "score_threshold": 0.0},
            "results": results,
        }
    else:
        code = call.get("code_interpreter") or {}
        shaped["code_interpreter"] = {
            "input": code.get("input", ""),
            "outputs": [_code_output(output) for output in code.get("outputs", [])],
        }
    return shaped


def _code_output(output: dict[str, Any]) -> dict[str, Any]:
    if output["type"] == "logs":
        return {"type": "logs", "logs": output.get("logs") or ""}
    return {"type": "image", "image": {"file_id": (output.get("image") or {})["file_id"]}}


def run(document: RunDocument) -> dict[str, Any]:
    data = document.model_dump(mode="json", by_alias=True)
    ended = document.is_terminal
    required = None
    if document.required_action is not None:
        calls = [tool_call_shape(c) for c in data["required_action"]["tool_calls"]]
        for call in calls:
            call.get("function", {}).pop("output", None)
        required = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
    strategy = data["truncation_strategy"]
    return {
        "id": document.id,
        "object": "thread.run",
        "created_at": seconds(document.created_at),
        "thread_id": document.thread_id,
        "assistant_id": document.assistant_id,
        "status": document.status,
        "required_action": required,
        "last_error": data["last_error"],
        # OpenAI's: no expiry once a run ended, and usage only then.
        "expires_at": None if ended else seconds(document.expires_at),
        "started_at": seconds(document.started_at),
        "cancelled_at": seconds(document.cancelled_at),
        "failed_at": seconds(document.failed_at),
        "completed_at": seconds(document.completed_at),
        "incomplete_details": data["incomplete_details"],
        "model": document.model,
        "instructions": document.instructions,
        "tools": [tool_shape(tool) for tool in data["tools"]],
        "metadata": document.metadata,
        "usage": data["usage"] if ended else None,
        "temperature": document.temperature if document.temperature is not None else 1.0,
        "top_p": document.top_p if document.top_p is not None else 1.0,
        "max_prompt_tokens": document.max_prompt_tokens,
        "max_completion_tokens": document.max_completion_tokens,
        "truncation_strategy": {
            "type": strategy["type"],
            "last_messages": strategy.get("last_messages"),
        },
        "tool_choice": tool_choice_shape(data["tool_choice"]),
        "parallel_tool_calls": document.parallel_tool_calls,
        "response_format": response_format_shape(data.get("response_format")),
    }


def step(document: RunStepDocument, include: frozenset[str] = frozenset()) -> dict[str, Any]:
    data = document.model_dump(mode="json")
    details = data["step_details"]
    if document.type == "message_creation":
        shaped_details: dict[str, Any] = {
            "type": "message_creation",
            "message_creation": details["message_creation"],
        }
    else:
        with_content = RESULT_CONTENT in include
        shaped_details = {
            "type": "tool_calls",
            "tool_calls": [tool_call_shape(c, with_content) for c in details["tool_calls"]],
        }
    return {
        "id": document.id,
        "object": "thread.run.step",
        "created_at": seconds(document.created_at),
        "run_id": document.run_id,
        "assistant_id": document.assistant_id,
        "thread_id": document.thread_id,
        "type": document.type,
        "status": document.status,
        "cancelled_at": seconds(document.cancelled_at),
        "completed_at": seconds(document.completed_at),
        "expired_at": seconds(document.expired_at),
        "failed_at": seconds(document.failed_at),
        "last_error": data["last_error"],
        "step_details": shaped_details,
        "usage": data["usage"],
        "metadata": {},
    }
