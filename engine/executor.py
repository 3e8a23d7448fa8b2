"""Drives one claimed run: prompt → model stream → steps, messages and events, until the
run waits for tool outputs or ends."""

import asyncio
from contextlib import aclosing
from typing import Any

import structlog

from engine import endings, tokens
from engine.catalog import Catalog
from engine.prompt import (
    PromptTooLarge,
    build_prompt,
    chat_response_format,
    chat_tool_choice,
    chat_tools,
)
from engine.providers.base import ChatRequest, ProviderError, TextDelta, ToolCallDelta, Usage
from engine.turn import Turn
from engine.writer import CancelRequested, LeaseLost, RunWriter
from models.run import LastError, RunDocument, runs

log = structlog.get_logger()
INTERNAL_ERROR = "The run failed on an internal error."


class Executor:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def execute(self, run: RunDocument, stop: "StopReason") -> None:
        """Runs until the run waits or ends. The heartbeat cancels this task and sets `stop`
        when the run is cancelled or the lease is lost; other cancellations are a shutdown,
        re-raised for the worker to release the run."""
        writer = RunWriter(run)
        try:
            await self._drive(writer)
        except asyncio.CancelledError:
            if stop.reason is None:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            if stop.reason == "cancel":
                await self._end(writer, endings.cancel)
            else:
                log.info("run_lease_lost", run_id=run.id, fence=writer.fence, by="heartbeat")
        except CancelRequested:
            await self._end(writer, endings.cancel)
        except LeaseLost:
            log.info("run_lease_lost", run_id=run.id, fence=writer.fence)
        except ProviderError as error:
            log.info("run_provider_error", run_id=run.id, code=error.code, detail=error.message)
            await self._end(writer, endings.fail, LastError(code=error.code, message=error.message))
        except PromptTooLarge as error:
            log.info("run_prompt_too_large", run_id=run.id, detail=str(error))
            await self._end(writer, endings.incomplete, "max_prompt_tokens")
        except Exception:
            log.exception("run_internal_error", run_id=run.id)
            internal = LastError(code="server_error", message=INTERNAL_ERROR)
            await self._end(writer, endings.fail, internal)

    async def _drive(self, writer: RunWriter) -> None:
        if writer.run.status == "cancelling":
            raise CancelRequested(writer.run.id)
        if writer.run.status == "queued":
            await writer.move("in_progress")
        budget = _completion_tokens_left(writer.run)
        request = await self._request(writer.run, budget)
        tokenizer = self.catalog.tokenizer(writer.run.model)
        turn = Turn(writer, tokens.count_messages(request.messages, tokenizer), budget, tokenizer)
        await turn.resume()
        provider = self.catalog.provider(writer.run.model)
        async with aclosing(provider.stream(request)) as stream:  # type: ignore[type-var]
            async for delta in stream:
                if isinstance(delta, TextDelta):
                    if not await turn.text(delta.text):
                        break  # the completion budget is spent
                elif isinstance(delta, ToolCallDelta):
                    await turn.tool_call(delta)
                elif isinstance(delta, Usage):
                    turn.usage = delta
        await turn.finish()

    async def _request(self, run: RunDocument, budget: int | None) -> ChatRequest:
        tokenizer = self.catalog.tokenizer(run.model)
        messages = await build_prompt(run, self.catalog.context_window(run.model), tokenizer)
        return ChatRequest(
            model=run.model,
            messages=messages,
            tools=chat_tools(run),
            tool_choice=chat_tool_choice(run) if run.tools else None,
            parallel_tool_calls=run.parallel_tool_calls,
            temperature=run.temperature,
            top_p=run.top_p,
            max_completion_tokens=budget,
            response_format=chat_response_format(run),
            reasoning_effort=run.reasoning_effort,
        )

    async def _end(self, writer: RunWriter, ending: Any, *args: Any) -> None:
        """Ends the run; a cancel that arrived meanwhile wins; if another worker holds the
        run now, that worker ends it instead."""
        if ending is endings.cancel:
            stored = await runs.find(writer.run.project_id, writer.run.id)
            if stored is None or stored.fence != writer.fence:
                return
            writer.run = stored
        try:
            await ending(writer, *args)
        except CancelRequested:
            await self._end(writer, endings.cancel)
        except LeaseLost:
            log.info("run_end_skipped", run_id=writer.run.id)


def _completion_tokens_left(run: RunDocument) -> int | None:
    """What `maxCompletionTokens` leaves after the run's earlier turns (None: no limit)."""
    if run.max_completion_tokens is None:
        return None
    return run.max_completion_tokens - (run.usage.completion_tokens if run.usage else 0)


class StopReason:
    """Why the heartbeat stopped a run's task: "cancel" or "lost" (None: a shutdown)."""

    def __init__(self) -> None:
        self.reason: str | None = None
