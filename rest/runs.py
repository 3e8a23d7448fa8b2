"""`/v1/threads/{thread_id}/runs…`, `/v1/threads/runs` and run steps; `stream: true` answers
with server-sent events (rest/events.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from models.errors import BadUserInput
from models.validation import validated
from rest import events, run_shapes
from rest.caller import Call, Svc
from rest.lists import ListQuery, envelope, list_query, page_request
from rest.requests import BODY, body, run_fields, thread_and_run_fields
from services.runs import CreateRun, CreateThreadAndRun, ToolOutput, UpdateRun

router = APIRouter(tags=["runs"])
Include = Annotated[list[str] | None, Query(alias="include[]")]
INCLUDABLE = frozenset({run_shapes.RESULT_CONTENT})


def _include(values: list[str] | None) -> frozenset[str]:
    given = frozenset(values or [])
    unknown = sorted(given - INCLUDABLE)
    if unknown:
        raise BadUserInput(f"include: unknown value {unknown[0]!r}.", param="include")
    return given


def _streamed(data: dict[str, Any]) -> bool:
    stream = data.pop("stream", None)
    if stream not in (None, True, False):
        raise BadUserInput("stream: expected a boolean.", param="stream")
    return stream is True


@router.post("/threads/{thread_id}/runs", response_model=None)
async def create_run(
    thread_id: str, request: Request, call: Call, svc: Svc, include: Include = None
) -> dict[str, Any] | StreamingResponse:
    data = await body(request)
    streamed, included = _streamed(data), _include(include)
    given = validated(CreateRun, run_fields(data), BODY)
    run = await svc.runs.create(call.project_id, thread_id, given)
    if streamed:
        return events.stream(request.app.state.engine.bus, run, 0, included)
    return run_shapes.run(run)


@router.post("/threads/runs", response_model=None)
async def create_thread_and_run(
    request: Request, call: Call, svc: Svc
) -> dict[str, Any] | StreamingResponse:
    data = await body(request)
    streamed = _streamed(data)
    given = validated(CreateThreadAndRun, thread_and_run_fields(data), BODY)
    run = await svc.runs.create_thread_and_run(call.project_id, given)
    if streamed:
        return events.stream(request.app.state.engine.bus, run, 0, frozenset())
    return run_shapes.run(run)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str,
    call: Call,
    svc: Svc,
    query: Annotated[ListQuery, Depends(list_query("desc"))],
) -> dict[str, Any]:
    async def find(run_id: str) -> Any:
        return await svc.runs.find(call.project_id, run_id, thread_id)

    page_of = await page_request(query, find)
    page = await svc.runs.page(call.project_id, thread_id, page_of)
    return envelope(page, run_shapes.run, page_of)


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(thread_id: str, run_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    return run_shapes.run(await svc.runs.get(call.project_id, run_id, thread_id))


@router.post("/threads/{thread_id}/runs/{run_id}")
async def update_run(
    thread_id: str, run_id: str, request: Request, call: Call, svc: Svc
) -> dict[str, Any]:
    given = validated(UpdateRun, await body(request), BODY)
    await svc.runs.get(call.project_id, run_id, thread_id)
    return run_shapes.run(await svc.runs.update(call.project_id, run_id, given))


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(thread_id: str, run_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    await svc.runs.get(call.project_id, run_id, thread_id)
    return run_shapes.run(await svc.runs.cancel(call.project_id, run_id))


@router.post("/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", response_model=None)
async def submit_tool_outputs(
    thread_id: str, run_id: str, request: Request, call: Call, svc: Svc
) -> dict[str, Any] | StreamingResponse:
    data = await body(request)
    streamed = _streamed(data)
    outputs = data.get("tool_outputs")
    if not isinstance(outputs, list):
        raise BadUserInput("tool_outputs: expected a list.", param="tool_outputs")
    where = BODY.at("tool_outputs")
    given = [validated(ToolOutput, item, where.at(i)) for i, item in enumerate(outputs)]
    await svc.runs.get(call.project_id, run_id, thread_id)
    submitted = await svc.runs.submit_tool_outputs(call.project_id, run_id, given)
    if streamed:
        bus = request.app.state.engine.bus
        return events.stream(bus, submitted.run, submitted.after, frozenset())
    return run_shapes.run(submitted.run)


@router.get("/threads/{thread_id}/runs/{run_id}/steps")
async def list_steps(
    thread_id: str,
    run_id: str,
    call: Call,
    svc: Svc,
    query: Annotated[ListQuery, Depends(list_query("desc"))],
    include: Include = None,
) -> dict[str, Any]:
    included = _include(include)
    await svc.runs.get(call.project_id, run_id, thread_id)

    async def find(step_id: str) -> Any:
        return await svc.runs.find_step(call.project_id, step_id, run_id)

    page_of = await page_request(query, find)
    page = await svc.runs.steps(call.project_id, run_id, page_of)
    return envelope(page, lambda step: run_shapes.step(step, included), page_of)


@router.get("/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
async def get_step(
    thread_id: str, run_id: str, step_id: str, call: Call, svc: Svc, include: Include = None
) -> dict[str, Any]:
    included = _include(include)
    step = await svc.runs.step(call.project_id, step_id, run_id, thread_id)
    return run_shapes.step(step, included)
