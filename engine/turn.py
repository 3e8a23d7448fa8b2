"""One model call of a run: its streamed text becomes a message, its tool calls a step."""

from typing import Any

from engine import tokens
from engine.encodings import TokenizerName
from engine.providers.base import ToolCallDelta, Usage
from engine.writer import RunWriter, event, message_event, step_event
from models.base import utcnow
from models.event import NewEvent
from models.message import ContentPart, MessageDocument, TextValue
from models.run import FunctionCall, IncompleteDetails, RequiredAction, ToolCall
from models.run import Usage as UsageCounts
from models.run_step import MessageCreation, RunStepDocument, StepDetails, open_steps


class Turn:
    def __init__(
        self,
        writer: RunWriter,
        prompt_tokens: int,
        budget: int | None,
        tokenizer: TokenizerName = tokens.DEFAULT,
    ) -> None:
        self.writer = writer
        self.tokenizer = tokenizer  # counts what the model writes when it reports no usage
        self.prompt_tokens = prompt_tokens
        self.budget = budget  # completion tokens left, if the run has a limit
        self.spent = 0
        self.out_of_tokens = False
        self.usage: Usage | None = None
        self.calls: dict[int, ToolCall] = {}
        self.tool_step: RunStepDocument | None = None
        self.resumed = False

    async def resume(self) -> None:
        """After a takeover, the lost worker's unfinished step and message are reused (same
        ids, text restarted), so the thread still gets exactly one answer."""
        run = self.writer.run
        for step in await open_steps(run.id, run.project_id):
            creation = step.step_details.message_creation
            if creation is not None:
                message = await MessageDocument.get(creation.message_id)
                if message is not None:
                    self.writer.step, self.writer.message = step, message
                    self.resumed = True
            else:
                step.step_details.tool_calls = []
                self.tool_step = step

    async def text(self, piece: str) -> bool:
        """Streams `piece`; False when it would go past the completion budget."""
        cost = tokens.count(piece, self.tokenizer)
        if self.budget is not None and self.spent + cost > self.budget:
            self.out_of_tokens = True
            return False
        self.spent += cost
        await self._open_message()
        message = self.writer.message
        assert message is not None
        self.writer.text.append(piece)
        delta = {"content": [{"index": 0, "type": "text", "text": {"value": piece}}]}
        await self.writer.record(
            events=[
                event(
                    "thread.message.delta",
                    message.run_id or "",
                    message_id=message.id,
                    text_delta=piece,
                    delta=delta,
                )
            ]
        )
        return True

    async def tool_call(self, delta: ToolCallDelta) -> None:
        if self.writer.message is not None:
            await self._close_message()
        if self.tool_step is None:
            self.tool_step = self._new_step("tool_calls", StepDetails(type="tool_calls"))
            await self.writer.record(
                documents=[self.tool_step],
                events=[
                    step_event("created", self.tool_step),
                    step_event("in_progress", self.tool_step),
                ],
            )
        self.spent += tokens.count((delta.name or "") + delta.arguments, self.tokenizer)
        call = self.calls.setdefault(
            delta.index, ToolCall(id=delta.id or "", function=FunctionCall(name=delta.name or ""))
        )
        assert call.function is not None
        call.id = call.id or delta.id or ""
        call.function.name = call.function.name or delta.name or ""
        call.function.arguments += delta.arguments
        piece: dict[str, Any] = {
            "index": delta.index,
            "type": "function",
            "function": {"arguments": delta.arguments},
        }
        if delta.id:
            piece["id"] = delta.id
        if delta.name:
            piece["function"]["name"] = delta.name
        await self.writer.record(
            events=[
                event(
                    "thread.run.step.delta",
                    self.writer.run.id,
                    step_id=self.tool_step.id,
                    delta={"step_details": {"type": "tool_calls", "tool_calls": [piece]}},
                )
            ]
        )

    async def finish(self) -> None:
        """Completes what the stream wrote and moves the run on, in one transaction: a crash
        never leaves a finished answer on a run that another worker would answer again."""
        usage = self._usage()
        run_usage = (self.writer.run.usage or UsageCounts()) + usage
        if self.writer.message is None and not self.calls:
            await self._open_message()  # an empty answer is still an answer
        documents: list[MessageDocument | RunStepDocument] = []
        events: list[NewEvent] = []
        if self.writer.message is not None:
            documents, events = self._closed_message(usage if not self.calls else None)
        if self.calls and self.tool_step is not None:
            step = self.tool_step
            step.step_details.tool_calls = [self.calls[index] for index in sorted(self.calls)]
            step.usage = usage
            await self.writer.move(
                "requires_action",
                fields={
                    "usage": run_usage,
                    "required_action": RequiredAction(tool_calls=step.step_details.tool_calls),
                },
                documents=[*documents, step],
                events=events,
            )
        elif self.out_of_tokens:
            await self.writer.move(
                "incomplete",
                fields={
                    "usage": run_usage,
                    "incomplete_details": IncompleteDetails(reason="max_completion_tokens"),
                },
                documents=documents,
                events=events,
            )
        else:
            await self.writer.move(
                "completed", fields={"usage": run_usage}, documents=documents, events=events
            )

    def _usage(self) -> UsageCounts:
        prompt = self.usage.prompt_tokens if self.usage else self.prompt_tokens
        completion = self.usage.completion_tokens if self.usage else self.spent
        if self.out_of_tokens:
            completion = self.spent  # what was kept, not what the model went on to write
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

    async def _open_message(self) -> None:
        if self.writer.message is not None:
            if self.resumed:
                self.resumed = False
                await self.writer.record(events=[message_event("in_progress", self.writer.message)])
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
        self.writer.step, self.writer.message = step, message
        await self.writer.record(
            documents=[step, message],
            events=[
                step_event("created", step),
                step_event("in_progress", step),
                message_event("created", message),
                message_event("in_progress", message),
            ],
        )

    async def _close_message(self, usage: UsageCounts | None = None) -> None:
        documents, events = self._closed_message(usage)
        await self.writer.record(documents=documents, events=events)

    def _closed_message(
        self, usage: UsageCounts | None
    ) -> tuple[list[MessageDocument | RunStepDocument], list[NewEvent]]:
        """The open message and its step, finished, with their events (not yet written)."""
        message, step = self.writer.message, self.writer.step
        assert message is not None
        assert step is not None
        now = utcnow()
        text = TextValue(value="".join(self.writer.text))
        message.content = [ContentPart(type="text", text=text)]
        if self.out_of_tokens:
            message.status, message.incomplete_at = "incomplete", now
            message.incomplete_details = {"reason": "max_tokens"}
        else:
            message.status, message.completed_at = "completed", now
        step.status, step.completed_at, step.usage = "completed", now, usage
        self.writer.message = self.writer.step = None
        self.writer.text = []
        return [message, step], [
            message_event(message.status, message),
            step_event("completed", step),
        ]
