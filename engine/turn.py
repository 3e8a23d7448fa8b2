"""One model call of a run: its streamed text (and refusal) becomes a message, its tool calls
a step.

Deltas are written in batches: what the model says within FLUSH_SECONDS goes out as one delta
event, in one transaction with the message (or step) as stored so far. So what a client
accumulated from the deltas is always what is stored, and a run costs a write per batch, not
per token.

What is written is the difference between what the model said ("heard") and what was told. A
new worker that takes a run over asks the model again: while its stream repeats what the lost
worker told, nothing is sent twice, and the rest continues the same message. A stream that says
something else ends the old message `incomplete` and writes its answer to a new one."""

import asyncio
import time
from typing import Any, Literal

from engine import endings, tokens
from engine.encodings import TokenizerName
from engine.files import tool as file_search
from engine.files.search import Searcher
from engine.parts import Parts, PartType
from engine.providers.base import Finish, ToolCallDelta, Usage
from engine.sandbox import tool as code_tool
from engine.stop import Stop
from engine.writer import RunWriter, event, message_event, step_event
from models.base import ScopedDocument, utcnow
from models.event import NewEvent
from models.message import ContentPart, ImageFile, MessageDocument
from models.run import (
    CodeInterpreterCall,
    CodeOutput,
    FileSearchCall,
    FunctionCall,
    IncompleteReason,
    RequiredAction,
    RunStatus,
    ToolCall,
)
from models.run import Usage as UsageCounts
from models.run_step import MessageCreation, RunStepDocument, StepDetails, open_steps

# Deltas heard within this window are written (and streamed) together.
FLUSH_SECONDS = 0.05
# A code call's logs are written (and streamed) at most this often.
LOGS_FLUSH_SECONDS = 0.1
# Between the logs of a lost worker's code call and those of its run here.
RUN_AGAIN = "\n[The worker running this code stopped; it was run again from the start.]\n"
# Why a turn's answer stopped short: its message's `incomplete_details.reason`, and the run's.
CutShort = Literal["max_tokens", "content_filter"]
_CUT_SHORT: dict[str, CutShort] = {"length": "max_tokens", "content_filter": "content_filter"}
# OpenAI's run reasons name token limits only: a filtered answer ends the run `incomplete`
# without one (the message tells why).
_RUN_REASON: dict[CutShort, IncompleteReason | None] = {
    "max_tokens": "max_completion_tokens",
    "content_filter": None,
}


class Writes:
    """Documents and events for one transaction, built up by parts of a turn."""

    def __init__(self) -> None:
        self.documents: list[ScopedDocument] = []
        self.events: list[NewEvent] = []

    def add(self, documents: list[Any], events: list[NewEvent]) -> None:
        for document in documents:
            if all(document is not known for known in self.documents):
                self.documents.append(document)
        self.events.extend(events)


class Turn:
    def __init__(
        self,
        writer: RunWriter,
        prompt_tokens: int,
        budget: int | None,
        tokenizer: TokenizerName = tokens.DEFAULT,
        stop: Stop | None = None,
        *,
        searcher: Searcher,
        code: code_tool.CodeRunner,
    ) -> None:
        self.writer = writer
        self.stop = stop or Stop()
        self.searcher = searcher  # runs the turn's file_search calls
        self.code = code  # runs its code_interpreter calls
        # The run's file_search calls so far: the markers its answer may cite (see resume).
        self.citable: list[FileSearchCall] = []
        # The run's code calls so far: the files its answer may link, the images it shows.
        self.code_calls: list[tuple[bool, CodeInterpreterCall]] = []
        # Set by `finish` when the turn's tool calls were all run here: another turn follows.
        self.continues = False
        self.tokenizer = tokenizer  # counts what the model writes when it reports no usage
        self.prompt_tokens = prompt_tokens
        self.budget = budget  # completion tokens left, if the run has a limit
        self.spent = 0
        # Set when the completion budget ran out here, or the model says it stopped short.
        self.cut_short: CutShort | None = None
        self.usage: Usage | None = None
        self.heard = Parts()  # this turn's answer, as the model said it
        self.calls: dict[int, ToolCall] = {}  # this turn's tool calls, as the model said them
        # The tool-calls step; its stored `tool_calls` are what subscribers were told.
        self.tool_step: RunStepDocument | None = None
        self.tool_step_stored = False
        # The message being written and its step; `told` is what is stored of it, which is
        # exactly what its delta events told subscribers.
        self.message: MessageDocument | None = None
        self.step: RunStepDocument | None = None
        self.told = Parts()
        self.untold_since: float | None = None

    async def resume(self) -> None:
        """After a takeover: the lost worker's open step and message, as stored (and told)."""
        if self.writer.stepless:
            return  # nothing stored to resume from
        run = self.writer.run
        if file_search.offered(run):
            self.citable = await file_search.searches(run)
        if code_tool.offered(run):
            self.code_calls = await code_tool.calls_of(run)
        for step in await open_steps(run.id, run.project_id):
            creation = step.step_details.message_creation
            if creation is not None:
                message = await MessageDocument.get(creation.message_id)
                if message is not None:
                    self.step, self.message, self.told = step, message, Parts.of(message)
            else:
                self.tool_step, self.tool_step_stored = step, True

    def flush_due(self) -> float | None:
        """Seconds until what was heard must be written; None while nothing waits."""
        if self.untold_since is None:
            return None
        return max(0.0, self.untold_since + FLUSH_SECONDS - time.monotonic())

    async def _heard(self) -> None:
        """Something new to tell: written once it has waited FLUSH_SECONDS."""
        if self.untold_since is None:
            self.untold_since = time.monotonic()
        if self.flush_due() == 0:
            await self.flush()

    async def text(self, piece: str) -> bool:
        """Takes `piece`; False when it would go past the completion budget."""
        return await self._say("text", piece)

    async def refusal(self, piece: str) -> bool:
        """A piece of the model's refusal: a part of the message of its own (OpenAI's)."""
        return await self._say("refusal", piece)

    async def _say(self, kind: PartType, piece: str) -> bool:
        cost = tokens.count(piece, self.tokenizer)
        if self.budget is not None and self.spent + cost > self.budget:
            self.cut_short = "max_tokens"
            return False
        self.spent += cost
        self.heard.add(kind, piece)
        await self._heard()
        return True

    def finished(self, finish: Finish) -> None:
        self.cut_short = self.cut_short or _CUT_SHORT.get(finish.reason)

    async def tool_call(self, delta: ToolCallDelta) -> None:
        if self.heard or self.message is not None:
            # Text before tool calls: that message is done.
            writes = Writes()
            self._message_writes(writes, final=True)
            self._close_message(writes, None)
            await self._write(writes)
            self.heard = Parts()
        self.spent += tokens.count((delta.name or "") + delta.arguments, self.tokenizer)
        if delta.index not in self.calls:
            self.calls[delta.index] = ToolCall(
                id=delta.id or "",
                type=self._kind(delta.name or ""),
                function=FunctionCall(name=delta.name or ""),
            )
        call = self.calls[delta.index]
        assert call.function is not None
        call.id = call.id or delta.id or ""
        call.function.name = call.function.name or delta.name or ""
        call.function.arguments += delta.arguments
        if call.type == "code_interpreter":  # its code is shown as it comes
            call.code_interpreter = CodeInterpreterCall(
                input=code_tool.code_of(call.function.arguments)
            )
        await self._heard()

    def _kind(self, name: str) -> Literal["function", "file_search", "code_interpreter"]:
        """A call to a built-in tool the run has is Threadline's to run."""
        run = self.writer.run
        if name == file_search.NAME and file_search.offered(run):
            return "file_search"
        if name == code_tool.NAME and code_tool.offered(run):
            return "code_interpreter"
        return "function"

    async def flush(self) -> None:
        writes = Writes()
        self._message_writes(writes, final=False)
        self._tool_writes(writes, final=False)
        await self._write(writes)

    async def _write(self, writes: Writes) -> None:
        if writes.documents or writes.events:
            await self.writer.record(documents=writes.documents, events=writes.events)
        self.untold_since = None

    # -- the message ------------------------------------------------------------------

    def _message_writes(self, writes: Writes, final: bool) -> None:
        """The message's creation and its untold parts, if any. `final`: the model is done, so
        a stream that stopped short of what was told has diverged too."""
        told, heard = self.told, self.heard
        if heard.same(told) or (not final and told.extends(heard)):
            return  # nothing new (or still repeating what was told before a takeover)
        if self.message is not None and not heard.extends(told):
            message, step = self.message, self.step
            assert step is not None
            message.status, message.incomplete_at = "incomplete", utcnow()
            message.incomplete_details = {"reason": "run_failed"}
            step = self._end_step(step, "failed")
            writes.add([message, step], [message_event("incomplete", message)])
            writes.add([], [step_event("failed", step)])
            self.message, self.step, self.told = None, None, Parts()
            told = self.told
        if not heard:
            return
        self._open_message(writes)
        assert self.message is not None
        message = self.message
        message.content = heard.content()
        text = heard.beyond(told, "text")
        delta = heard.delta(told)
        self.told = Parts(heard.values)
        writes.add(
            [message],
            [
                event(
                    "thread.message.delta",
                    message.run_id or "",
                    message_id=message.id,
                    text_delta=text or None,  # a refusal's pieces are in `delta` only
                    delta=delta,
                )
            ],
        )

    def _open_message(self, writes: Writes) -> None:
        if self.message is not None:
            return
        run = self.writer.run
        message = MessageDocument(
            project_id=run.project_id,
            thread_id=run.thread_id,
            role="assistant",
            status="in_progress",
            assistant_id=run.assistant_id,
            run_id=run.id,
        )
        step = self._new_step(
            "message_creation",
            StepDetails(
                type="message_creation", message_creation=MessageCreation(message_id=message.id)
            ),
        )
        self.step, self.message, self.told = step, message, Parts()
        writes.add(
            [step, message],
            [
                step_event("created", step),
                step_event("in_progress", step),
                message_event("created", message),
                message_event("in_progress", message),
            ],
        )

    def _close_message(self, writes: Writes, usage: UsageCounts | None) -> None:
        message, step = self.message, self.step
        if message is None or step is None:
            return
        now = utcnow()
        if self.cut_short is not None:
            message.status, message.incomplete_at = "incomplete", now
            message.incomplete_details = {"reason": self.cut_short}
        else:
            message.status, message.completed_at = "completed", now
        for part in message.content:
            if part.text is not None and self.citable:
                part.text.annotations = file_search.citations(part.text.value, self.citable)
            if part.text is not None and self.code_calls:
                part.text.annotations += code_tool.file_paths(part.text.value, self.code_calls)
        images = self._images(message)
        step.status, step.completed_at, step.usage = "completed", now, usage
        self.message = self.step = None
        self.told = Parts()
        writes.add(
            [message, step],
            [
                *images,
                message_event(message.status, message),
                step_event("completed", step),
            ],
        )

    def _images(self, message: MessageDocument) -> list[NewEvent]:
        """The images the run's code made since its last answer, as image parts after the
        text (OpenAI's answers show them so), told in a delta of their own."""
        shown = code_tool.unshown_images(self.code_calls)
        if not shown:
            return []
        start = len(message.content)
        message.content += [
            ContentPart(type="image_file", image_file=ImageFile(file_id=file_id))
            for file_id in shown
        ]
        self.code_calls = [(True, call) for _, call in self.code_calls]
        delta = [
            {"index": start + i, "type": "image_file", "image_file": {"file_id": file_id}}
            for i, file_id in enumerate(shown)
        ]
        return [
            event(
                "thread.message.delta",
                message.run_id or "",
                message_id=message.id,
                delta={"content": delta},
            )
        ]

    # -- tool calls ---------------------------------------------------------------------

    def _tool_writes(self, writes: Writes, final: bool) -> None:
        """The tool step's creation and the untold parts of its calls, if any."""
        if not self.calls:
            return
        told = dict(enumerate(self._told_calls()))
        pieces: list[dict[str, Any]] = []
        for index in sorted(self.calls):
            piece = _call_piece(index, self.calls[index], told.get(index), final)
            if isinstance(piece, _Diverged):
                self._abandon_tool_step(writes)
                return self._tool_writes(writes, final)
            if piece is not None:
                pieces.append(piece)
        if not pieces:
            return
        step = self._open_tool_step(writes)
        step.step_details.tool_calls = self._merged_calls(told)
        writes.add(
            [step],
            [
                event(
                    "thread.run.step.delta",
                    self.writer.run.id,
                    step_id=step.id,
                    delta={"step_details": {"type": "tool_calls", "tool_calls": pieces}},
                )
            ],
        )

    def _told_calls(self) -> list[ToolCall]:
        return self.tool_step.step_details.tool_calls if self.tool_step else []

    def _merged_calls(self, told: dict[int, ToolCall]) -> list[ToolCall]:
        """The heard calls, keeping the ids subscribers were already told."""
        merged = []
        for index in sorted(self.calls):
            call = self.calls[index].model_copy(deep=True)
            if index in told:
                call.id = told[index].id
                earlier = told[index].code_interpreter
                if call.code_interpreter is not None and earlier is not None:
                    call.code_interpreter.outputs = earlier.outputs  # a lost worker's logs
            merged.append(call)
        return merged

    def _open_tool_step(self, writes: Writes) -> RunStepDocument:
        if self.tool_step is None:
            self.tool_step = self._new_step("tool_calls", StepDetails(type="tool_calls"))
        if not self.tool_step_stored:
            self.tool_step_stored = True
            writes.add(
                [self.tool_step],
                [step_event("created", self.tool_step), step_event("in_progress", self.tool_step)],
            )
        return self.tool_step

    def _abandon_tool_step(self, writes: Writes) -> None:
        """A takeover's stream asked for other calls than those told: that step failed."""
        assert self.tool_step is not None
        step = self._end_step(self.tool_step, "failed")
        writes.add([step], [step_event("failed", step)])
        self.tool_step, self.tool_step_stored = None, False

    # -- the end ------------------------------------------------------------------------

    async def finish(self) -> None:
        """Writes what is untold, completes the message or step, and moves the run on, in one
        transaction: a crash never leaves a finished answer that a takeover would repeat."""
        usage = self.counts()
        fields: dict[str, Any] = {"spent": (self.writer.run.spent or UsageCounts()) + usage}
        writes = Writes()
        self._message_writes(writes, final=True)
        self._tool_writes(writes, final=True)
        if self.message is None and not self.calls:
            self._open_message(writes)  # an empty answer is still an answer
        self._close_message(writes, usage if not self.calls else None)
        if self.calls and self.tool_step is not None:
            step = self.tool_step
            calls = self._merged_calls(dict(enumerate(self._told_calls())))
            step.usage = usage
            writes.add([step], [])
            if self.cut_short is None:
                if any(call.type == "code_interpreter" for call in calls):
                    # Its logs stream while it runs: what is untold goes out first.
                    step.step_details.tool_calls = calls
                    await self.writer.record(documents=writes.documents, events=writes.events)
                    writes = Writes()
                    writes.add([step], [])
                step.step_details.tool_calls = await self._run_builtin(calls)
                waiting = [call for call in step.step_details.tool_calls if call.type == "function"]
                if not waiting:  # all run here: the step is done and the model goes on
                    step.status, step.completed_at = "completed", utcnow()
                    writes.add([], [step_event("completed", step)])
                    await self.writer.record(fields, writes.documents, writes.events)
                    self.continues = True
                    return
                fields["required_action"] = RequiredAction(tool_calls=waiting)
                await self._move("requires_action", fields, writes)
                return
            step.step_details.tool_calls = calls
            # Calls cut short cannot be answered: their step fails with the run.
            self._end_step(step, "failed")
            writes.add([], [step_event("failed", step)])
        if self.cut_short is None:
            await self._move("completed", fields, writes)
        else:
            ending = endings.incomplete(_RUN_REASON[self.cut_short])
            await self._move("incomplete", {**fields, **ending.fields()}, writes)

    async def _run_builtin(self, calls: list[ToolCall]) -> list[ToolCall]:
        """The calls with the built-in ones run (their results in place of the arguments)."""
        done = []
        for index, call in enumerate(calls):
            if call.type == "file_search":
                call = await file_search.run_call(self.writer.run, call, self.stop, self.searcher)
            elif call.type == "code_interpreter":
                call = await self._run_code(index, call, calls)
            done.append(call)
        return done

    async def _run_code(self, index: int, call: ToolCall, calls: list[ToolCall]) -> ToolCall:
        """Runs a code call, its logs written into the step (and told) as they come: a batch
        LOGS_FLUSH_SECONDS after its first piece."""
        assert self.tool_step is not None
        step, run = self.tool_step, self.writer.run
        # The logs a lost worker told stay, and what runs now is told after them.
        told = [o for o in (call.code_interpreter or CodeInterpreterCall()).outputs if o.logs]
        shown = call.model_copy(deep=True)
        shown.code_interpreter = CodeInterpreterCall(
            input=code_tool.code_of(_arguments(call)), outputs=told[:1]
        )
        calls[index] = shown
        pending: list[str] = [RUN_AGAIN] if told else []
        telling = asyncio.Lock()
        later: asyncio.Task[None] | None = None

        async def tell() -> None:
            async with telling:
                piece = "".join(pending)
                pending.clear()
                if not piece:
                    return
                code = shown.code_interpreter
                assert code is not None
                if not code.outputs:
                    code.outputs.append(CodeOutput(type="logs", logs=""))
                code.outputs[0].logs = (code.outputs[0].logs or "") + piece
                step.step_details.tool_calls = calls
                logs = {"index": 0, "type": "logs", "logs": piece}
                # No `id`: a call's first delta gave it, and OpenAI's clients join the strings
                # of every later delta onto what they hold.
                delta: dict[str, Any] = {"index": index, "type": "code_interpreter"}
                delta["code_interpreter"] = {"outputs": [logs]}
                details = {"type": "tool_calls", "tool_calls": [delta]}
                await self.writer.record(
                    documents=[step],
                    events=[
                        event(
                            "thread.run.step.delta",
                            run.id,
                            step_id=step.id,
                            delta={"step_details": details},
                        )
                    ],
                )

        async def tell_later() -> None:
            await asyncio.sleep(LOGS_FLUSH_SECONDS)
            await tell()

        async def on_logs(piece: str) -> None:
            nonlocal later
            pending.append(piece)
            if later is None or later.done():
                if later is not None:
                    later.result()  # a failed write fails the call
                later = asyncio.create_task(tell_later())

        try:
            ran = await self.code.run_call(run, call, on_logs)
        finally:
            if later is not None:
                await later  # never cut short mid-write; it is LOGS_FLUSH_SECONDS away at most
        await tell()
        assert ran.code_interpreter is not None
        assert shown.code_interpreter is not None
        images = [o for o in ran.code_interpreter.outputs if o.type == "image"]
        ran.code_interpreter.outputs = [*shown.code_interpreter.outputs, *images]  # as told
        return ran

    async def _move(self, to: RunStatus, fields: dict[str, Any], writes: Writes) -> None:
        await self.writer.move(to, fields=fields, documents=writes.documents, events=writes.events)

    def counts(self) -> UsageCounts:
        """The endpoint's counts; ours when it reports none (or when the budget stopped the
        stream here, before its usage came)."""
        prompt = self.usage.prompt_tokens if self.usage else self.prompt_tokens
        completion = self.usage.completion_tokens if self.usage else self.spent
        return UsageCounts(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )

    def _new_step(self, kind: str, details: StepDetails) -> RunStepDocument:
        run = self.writer.run
        return RunStepDocument(
            project_id=run.project_id,
            run_id=run.id,
            thread_id=run.thread_id,
            assistant_id=run.assistant_id,
            type=kind,
            step_details=details,
        )

    @staticmethod
    def _end_step(step: RunStepDocument, status: str) -> RunStepDocument:
        step.status = status  # type: ignore[assignment]
        step.failed_at = utcnow()
        return step


class _Diverged:
    pass


_DIVERGED = _Diverged()


def _call_piece(
    index: int, heard: ToolCall, told: ToolCall | None, final: bool
) -> dict[str, Any] | _Diverged | None:
    """The delta that tells subscribers the untold part of one call (None: nothing new)."""
    assert heard.function is not None
    if heard.type == "code_interpreter":
        return _code_piece(index, heard, told, final)
    if heard.type == "file_search":  # its arguments are not shown, its results come at the end
        if told is None:
            return {"index": index, "type": "file_search", "id": heard.id, "file_search": {}}
        return _DIVERGED if told.type != "file_search" else None
    if told is None:
        return {
            "index": index,
            "type": "function",
            "id": heard.id,
            "function": {"name": heard.function.name, "arguments": heard.function.arguments},
        }
    assert told.function is not None
    said, known = heard.function.arguments, told.function.arguments
    if heard.function.name and heard.function.name != told.function.name:
        return _DIVERGED
    if said == known or (not final and known.startswith(said)):
        return None
    if not said.startswith(known):
        return _DIVERGED
    return {"index": index, "type": "function", "function": {"arguments": said[len(known) :]}}


def _code_piece(
    index: int, heard: ToolCall, told: ToolCall | None, final: bool
) -> dict[str, Any] | _Diverged | None:
    """A code call's delta: the code written since the last one."""
    said = heard.code_interpreter.input if heard.code_interpreter else ""
    if told is None:
        return {
            "index": index,
            "type": "code_interpreter",
            "id": heard.id,
            "code_interpreter": {"input": said, "outputs": []},
        }
    if told.type != "code_interpreter":
        return _DIVERGED
    known = told.code_interpreter.input if told.code_interpreter else ""
    if said == known or (not final and known.startswith(said)):
        return None
    if not said.startswith(known):
        return _DIVERGED
    return {
        "index": index,
        "type": "code_interpreter",
        "code_interpreter": {"input": said[len(known) :]},
    }


def _arguments(call: ToolCall) -> str:
    return call.function.arguments if call.function else ""
