"""Drives one claimed run: prompt → model stream → steps, messages and events, until the
run waits for tool outputs or ends."""

import contextlib
from collections.abc import AsyncIterator

import structlog

from app import metrics, tracing
from engine import endings, tokens
from engine.budgets import completion_tokens_left, prompt_tokens_left
from engine.catalog import Catalog
from engine.encodings import TokenizerName
from engine.endings import CANCELLED, Ending
from engine.files.search import Searcher
from engine.prompt import (
    Progress,
    PromptTooLarge,
    build_prompt,
    chat_response_format,
    chat_tool_choice,
    chat_tools,
)
from engine.providers.base import (
    ChatRequest,
    Finish,
    ProviderError,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from engine.sandbox import tool as code_tool
from engine.sandbox.tool import CodeRunner
from engine.stop import Stop, Stopped
from engine.stream import End, ModelStream
from engine.turn import Turn
from engine.writer import RunWriter
from models.run import LastError, RunDocument, runs

log = structlog.get_logger(__name__)
INTERNAL_ERROR = "The run failed on an internal error."


class Executor:
    def __init__(self, catalog: Catalog, searcher: Searcher, code: CodeRunner) -> None:
        self.catalog = catalog
        self.searcher = searcher  # for the file_search calls runs make
        self.code = code  # for their code_interpreter calls

    async def execute(self, run: RunDocument, stop: Stop) -> None:
        """Runs until the run waits or ends, or until `stop` (or a refused write) stops it."""
        writer = RunWriter(run)
        bound = log.bind(run_id=run.id, fence=writer.fence)
        try:
            await self._drive(writer, stop)
        except Stopped as stopped:
            if stopped.reason == "cancel":
                await self._end(writer, CANCELLED)
            else:
                bound.info("run_let_go", reason=stopped.reason)
        except ProviderError as error:
            bound.info("run_provider_error", code=error.code, detail=error.message)
            await self._end(
                writer, endings.failed(LastError(code=error.code, message=error.message))
            )
        except PromptTooLarge as error:
            bound.info("run_prompt_too_large", detail=str(error))
            await self._end(writer, endings.incomplete("max_prompt_tokens"))
        except Exception:
            bound.exception("run_internal_error")
            internal = LastError(code="server_error", message=INTERNAL_ERROR)
            await self._end(writer, endings.failed(internal, internal=True))

    async def _drive(self, writer: RunWriter, stop: Stop) -> None:
        """Model turns until one ends the run or waits for tool outputs: a turn whose tool
        calls Threadline ran itself (file_search) is followed by another."""
        stop.check()
        if writer.run.status == "cancelling":
            raise Stopped("cancel")
        if writer.run.status == "queued":
            await writer.move("in_progress")
        while await self._turn(writer, stop):
            stop.check()

    async def _turn(self, writer: RunWriter, stop: Stop) -> bool:
        """One model call; True when another must follow."""
        budget = completion_tokens_left(writer.run)
        if budget is not None and budget <= 0:
            # Earlier turns used the whole budget: asking the model for ≤ 0 tokens would fail.
            await self._end(writer, endings.incomplete("max_completion_tokens"))
            return False
        tokenizer = self.catalog.tokenizer(writer.run.model)
        await tokens.ready(tokenizer)
        request, prompt_tokens = await self._request(writer.run, budget, tokenizer, writer.stepless)
        turn = Turn(
            writer, prompt_tokens, budget, tokenizer, stop, searcher=self.searcher, code=self.code
        )
        await turn.resume()
        provider = self.catalog.provider(writer.run.model)
        async with (
            counted_call(writer.run.model),
            ModelStream(provider.stream(request), stop) as stream,  # type: ignore[arg-type]
        ):
            while not isinstance(delta := await stream.next(turn.flush_due()), End):
                if delta is None:
                    await turn.flush()
                elif isinstance(delta, TextDelta | RefusalDelta):
                    say = turn.text if isinstance(delta, TextDelta) else turn.refusal
                    if not await say(delta.text):
                        break  # the completion budget is spent
                elif isinstance(delta, ToolCallDelta):
                    await turn.tool_call(delta)
                elif isinstance(delta, Usage):
                    turn.usage = delta
                elif isinstance(delta, Finish):
                    turn.finished(delta)
        await turn.finish()
        spent = turn.counts()
        metrics.MODEL_TOKENS.labels(model=writer.run.model, kind="prompt").inc(spent.prompt_tokens)
        metrics.MODEL_TOKENS.labels(model=writer.run.model, kind="completion").inc(
            spent.completion_tokens
        )
        return turn.continues

    async def _request(
        self, run: RunDocument, budget: int | None, tokenizer: TokenizerName, stepless: bool
    ) -> tuple[ChatRequest, int]:
        """The model call's request, and its prompt's tokens."""
        prompt_budget = prompt_tokens_left(run, self.catalog.context_window(run.model))
        prompt = await build_prompt(run, prompt_budget, tokenizer, own_turns=not stepless)
        messages = prompt.messages
        progress = Progress.of(messages)
        code_files = list(await code_tool.input_files(run)) if code_tool.offered(run) else []
        request = ChatRequest(
            model=run.model,
            messages=messages,
            tools=chat_tools(run, progress, code_files),
            tool_choice=chat_tool_choice(run, progress),
            parallel_tool_calls=run.parallel_tool_calls,
            temperature=run.temperature,
            top_p=run.top_p,
            max_completion_tokens=budget,
            response_format=chat_response_format(run),
            reasoning_effort=run.reasoning_effort,
        )
        return request, prompt.tokens

    async def _end(self, writer: RunWriter, ending: Ending) -> None:
        """Ends the run; a cancel that arrived meanwhile wins; if another worker holds the
        run now, that worker ends it instead."""
        if ending is CANCELLED:
            stored = await runs.find(writer.run.project_id, writer.run.id)
            if stored is None or stored.fence != writer.fence:
                return
            writer.run = stored
        try:
            await endings.end(writer, ending)
        except Stopped as stopped:
            if stopped.reason == "cancel" and ending is not CANCELLED:
                await self._end(writer, CANCELLED)
            else:
                log.info("run_end_skipped", run_id=writer.run.id, reason=stopped.reason)


@contextlib.asynccontextmanager
async def counted_call(model: str) -> AsyncIterator[None]:
    """A model call, counted by how it ended (app/metrics.py)."""
    outcome = "error"
    try:
        with tracing.model_call(model):
            yield
        outcome = "ok"
    finally:
        metrics.MODEL_CALLS.labels(model=model, outcome=outcome).inc()
