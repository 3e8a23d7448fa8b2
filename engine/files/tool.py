"""`file_search` as a run uses it: offered to the model as a function it may call, run by
Threadline itself (the run does not stop for outputs), its results given back to the model
with citation markers, and the markers in the answer turned into `file_citation`s.

Markers are OpenAI's: 【{call}:{result}†{file name}】, where `call` counts the run's
file_search calls from 0 and `result` the call's results."""

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from engine import tool_resources
from engine.files.search import Searcher, SearchRequest
from engine.stop import Stop
from models import vector_stores as stores_db
from models.message import Annotation, FileReference
from models.run import FileSearchCall, FileSearchResult, RunDocument, ToolCall
from models.run_step import steps_of
from models.tools import RankingOptions

NAME = "file_search"
DEFAULT_MAX_RESULTS = 20  # OpenAI's default for gpt-4* models
MAX_SEARCHES = 8  # per run: then the model is no longer offered the tool
READY_WAIT_SECONDS = 60.0  # a run waits this long at most for its stores' ingestion
MARKER = re.compile(r"【(\d+):(\d+)†([^】]*)】")
DESCRIPTION = (
    "Search the files the user has shared and the assistant's knowledge files. Use it to "
    "answer from their content. Cite every fact taken from a result by copying that "
    "result's marker, such as 【0:1†report.pdf】, right after the fact."
)


def offered(run: RunDocument) -> bool:
    return any(tool.type == "file_search" for tool in run.tools)


def chat_tool() -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": NAME,
            "description": DESCRIPTION,
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": "What to look for."}},
                "required": ["query"],
            },
        },
    }


@dataclass(frozen=True)
class Options:
    max_num_results: int
    ranking: RankingOptions


def _options(run: RunDocument) -> Options:
    tool = next(tool for tool in run.tools if tool.type == "file_search")
    given = tool.file_search
    return Options(
        max_num_results=(given.max_num_results if given else None) or DEFAULT_MAX_RESULTS,
        ranking=(given.ranking_options if given else None) or RankingOptions(),
    )


async def store_ids(run: RunDocument) -> list[str]:
    """The assistant's vector stores, then the thread's (each holds at most one)."""
    found = [
        store_id
        for resources in await tool_resources.of_run(run)
        if resources.file_search
        for store_id in resources.file_search.vector_store_ids
    ]
    return list(dict.fromkeys(found))


async def run_call(run: RunDocument, call: ToolCall, stop: Stop, searcher: Searcher) -> ToolCall:
    """The call with its results, as the step stores it."""
    options = _options(run)
    query = _query(call)
    stores = await store_ids(run)
    await _ready(stores, stop)
    hits = (
        await searcher.search(
            run.project_id,
            SearchRequest(
                store_ids=stores,
                query=query,
                max_num_results=options.max_num_results,
                score_threshold=options.ranking.score_threshold,
            ),
        )
        if stores and query
        else []
    )
    results = [
        FileSearchResult(file_id=h.file_id, file_name=h.filename, score=h.score, content=h.text)
        for h in hits
    ]
    return ToolCall(
        id=call.id,
        type="file_search",
        file_search=FileSearchCall(query=query, ranking_options=options.ranking, results=results),
    )


def _query(call: ToolCall) -> str:
    raw = call.function.arguments if call.function else ""
    try:
        arguments = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return raw.strip()
    query = arguments.get("query") if isinstance(arguments, dict) else None
    return query.strip() if isinstance(query, str) else ""


async def _ready(stores: list[str], stop: Stop) -> None:
    """Waits (a while) for files still being ingested, as OpenAI's runs do."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_WAIT_SECONDS
    for store_id in stores:
        while await stores_db.ingesting(store_id) and loop.time() < deadline:
            stop.check()
            await asyncio.sleep(0.2)


def output(index: int, call: ToolCall) -> str:
    """The call's results for the model, each under its citation marker."""
    search = call.file_search or FileSearchCall()
    if not search.results:
        return f"No results for {search.query!r}."
    blocks = [
        f"【{index}:{position}†{result.file_name}】\n{result.content}"
        for position, result in enumerate(search.results)
    ]
    return f"Results for {search.query!r}:\n\n" + "\n\n".join(blocks)


async def searches(run: RunDocument) -> list[FileSearchCall]:
    """The run's file_search calls so far, in order (the `call` of a marker)."""
    return [
        call.file_search
        for step in await steps_of(run.id, run.project_id)
        for call in step.step_details.tool_calls
        if call.type == "file_search" and call.file_search is not None
    ]


def citations(text: str, calls: list[FileSearchCall]) -> list[Annotation]:
    """A `file_citation` for each marker that names a result; its indices cover the marker."""
    found = []
    for match in MARKER.finditer(text):
        call, position = int(match[1]), int(match[2])
        if call < len(calls) and position < len(calls[call].results):
            found.append(
                Annotation(
                    type="file_citation",
                    text=match[0],
                    start_index=match.start(),
                    end_index=match.end(),
                    file_citation=FileReference(file_id=calls[call].results[position].file_id),
                )
            )
    return found
