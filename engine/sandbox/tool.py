"""`code_interpreter` as a run uses it: offered to the model as a function taking Python
code, run by Threadline itself in the thread's sandbox session (the run does not stop for
outputs), its logs streamed into the step as they come, and what it made kept as Files:
figures and images as `image` outputs (and image parts of the answer), other files written
under /mnt/data as `file_path` annotations where the answer links `sandbox:/mnt/data/…`."""

import json
import mimetypes
import posixpath
import re
from collections.abc import Awaitable, Callable
from typing import Any

from app import metrics, tracing
from engine import tool_resources
from engine.sandbox.jail import Unavailable
from engine.sandbox.pool import SandboxPool
from engine.sandbox.session import Execution, NotPut, Output, Session, SessionBroken
from models import file_storage
from models.file import FileDocument, files, find_live
from models.message import Annotation, FileReference
from models.run import CodeFile, CodeInterpreterCall, CodeOutput, RunDocument, ToolCall
from models.run_step import steps_of

NAME = "code_interpreter"
MAX_CALLS = 16  # per run: then the model is no longer offered the tool
LINK = re.compile(r"sandbox:/mnt/data/([^\s)\]\"'<>`]+)")
DESCRIPTION = (
    "Run Python code in a stateful sandbox, as in a Jupyter notebook: variables and files "
    "persist between calls in this conversation; the last expression's value is printed. "
    "There is no internet access. numpy, pandas and matplotlib are installed. Files are "
    "under /mnt/data; save files there to give them to the user, and link each as "
    "sandbox:/mnt/data/<name> in your answer. matplotlib figures are shown to the user."
)

Logs = Callable[[str], Awaitable[None]]


def offered(run: RunDocument) -> bool:
    return any(tool.type == "code_interpreter" for tool in run.tools)


def chat_tool(file_names: list[str]) -> dict[str, Any]:
    description = DESCRIPTION
    if file_names:
        description += " Files available: " + ", ".join(f"/mnt/data/{n}" for n in file_names)
    return {
        "type": "function",
        "function": {
            "name": NAME,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {"code": {"type": "string", "description": "The Python code."}},
                "required": ["code"],
            },
        },
    }


def code_of(arguments: str) -> str:
    """The `code` argument as far as the model has written it: arguments stream as JSON,
    so the string may still be open (or end inside an escape)."""
    try:
        parsed = json.loads(arguments or "{}")
        code = parsed.get("code") if isinstance(parsed, dict) else None
        return code if isinstance(code, str) else ""
    except json.JSONDecodeError:
        pass
    start = re.search(r'"code"\s*:\s*"', arguments)
    if start is None:
        return ""
    rest = arguments[start.end() :]
    end = re.search(r'(?<!\\)(?:\\\\)*"', rest)
    body = rest[: end.end() - 1] if end else rest
    for cut in range(len(body), max(len(body) - 6, -1), -1):  # an escape is ≤ 6 characters
        try:
            decoded = json.loads('"' + body[:cut] + '"')
            return decoded if isinstance(decoded, str) else ""
        except json.JSONDecodeError:
            continue
    return ""


async def input_files(run: RunDocument) -> dict[str, FileDocument]:
    """The assistant's and the thread's code interpreter files, by their name in /mnt/data
    (a name two files share gets the file id added)."""
    ids = [
        file_id
        for resources in await tool_resources.of_run(run)
        if resources.code_interpreter
        for file_id in resources.code_interpreter.file_ids
    ]
    named: dict[str, FileDocument] = {}
    for file_id in dict.fromkeys(ids):
        document = await find_live(run.project_id, file_id)
        if document is None:
            continue
        name = _safe_name(document.filename)
        if name in named:
            stem, dot, suffix = name.rpartition(".")
            name = f"{stem}-{document.id}.{suffix}" if dot and stem else f"{name}-{document.id}"
        named[name] = document
    return named


def _safe_name(filename: str) -> str:
    name = filename.replace("/", "_").replace("\x00", "_").strip() or "file"
    return "_" + name if name.startswith(".") else name


class CodeRunner:
    def __init__(self, pool: SandboxPool) -> None:
        self.pool = pool

    async def run_call(self, run: RunDocument, call: ToolCall, on_logs: Logs) -> ToolCall:
        """The call with its outputs, as the step stores it. The code's failures (and a
        sandbox that cannot be made) are outputs too: the run goes on."""
        code = code_of(call.function.arguments if call.function else "")
        with (
            metrics.SANDBOX_SECONDS.time(),
            tracing.tracer.start_as_current_span(
                "code_interpreter", attributes={"threadline.thread_id": run.thread_id}
            ),
        ):
            try:
                async with self.pool.session(run.thread_id) as session:
                    notes = await _provide(session, await input_files(run))
                    if notes:
                        await on_logs(notes)
                    execution = await session.execute(code, on_logs)
                    execution.logs = notes + execution.logs
                outcome = "limit" if execution.limit else "error" if execution.error else "ok"
            except Unavailable as unavailable:
                message = f"code_interpreter is unavailable on this server: {unavailable}"
                await on_logs(message)
                execution, outcome = Execution(message, str(unavailable)), "unavailable"
            except SessionBroken as broken:
                await self.pool.discard(run.thread_id)
                message = f"The sandbox session broke while its files were copied in: {broken}"
                await on_logs(message)
                execution, outcome = Execution(message, str(broken)), "broken"
            metrics.SANDBOX_CALLS.labels(outcome=outcome).inc()
            try:
                outputs, made = await _keep(run, execution)
            finally:
                execution.close()
        return ToolCall(
            id=call.id,
            type="code_interpreter",
            function=call.function,
            code_interpreter=CodeInterpreterCall(input=code, outputs=outputs, files=made),
        )


async def _provide(session: Session, wanted: dict[str, FileDocument]) -> str:
    """Copies into the session the files it does not have yet; says which did not fit."""
    notes = ""
    for name, document in wanted.items():
        if session.files.get(name) == document.id:
            continue
        try:
            await session.put(name, document.id, document.bytes, _reader(document.id))
        except NotPut as not_put:
            notes += f"[{not_put}]\n"
    return notes


def _reader(file_id: str) -> Callable[[int], Awaitable[bytes]]:
    """A stored file's bytes, `size` at a time."""
    chunks = file_storage.chunks(file_id)
    pending = b""

    async def read(size: int) -> bytes:
        nonlocal pending
        while len(pending) < size:
            try:
                pending += await anext(chunks)
            except StopAsyncIteration:
                break
        piece, pending = pending[:size], pending[size:]
        return piece

    return read


async def _keep(run: RunDocument, execution: Execution) -> tuple[list[CodeOutput], list[CodeFile]]:
    """The call's outputs (logs, then images) with what it made stored as Files."""
    outputs = [CodeOutput(type="logs", logs=execution.logs)] if execution.logs else []
    made = []
    for output in execution.outputs:
        document = await _store(run, output)
        if output.kind == "image":
            outputs.append(CodeOutput(type="image", image=FileReference(file_id=document.id)))
        if not output.figure:
            made.append(CodeFile(path=output.name, file_id=document.id))
    return outputs, made


async def _store(run: RunDocument, output: Output) -> FileDocument:
    filename = posixpath.basename(output.name)
    kind, _ = mimetypes.guess_type(filename, strict=False)
    document = files.build(
        run.project_id,
        {
            "filename": filename,
            "bytes": output.size,
            "purpose": "assistants_output",
            "content_type": kind or "application/octet-stream",
            "thread_id": run.thread_id,
        },
    )

    async def read(size: int) -> bytes:
        return output.data.read(size)

    await file_storage.store(document.id, filename, read, max(output.size, 1))
    try:
        return await files.insert(document)
    except BaseException:
        await file_storage.delete(document.id)
        raise


def output(call: ToolCall) -> str:
    """The call's outputs for the model."""
    code = call.code_interpreter or CodeInterpreterCall()
    logs = "".join(o.logs or "" for o in code.outputs if o.type == "logs")
    parts = [logs.strip() or "(no output)"]
    images = sum(1 for o in code.outputs if o.type == "image")
    if images:
        parts.append(f"{images} image(s) shown to the user.")
    if code.files:
        parts.append(
            "Files written: " + ", ".join(f"sandbox:/mnt/data/{f.path}" for f in code.files)
        )
    return "\n".join(parts)


async def calls_of(run: RunDocument) -> list[tuple[bool, CodeInterpreterCall]]:
    """The run's code calls that ran, in order, each with whether an answer came after it."""
    found: list[tuple[bool, CodeInterpreterCall]] = []
    for step in await steps_of(run.id, run.project_id):
        if step.step_details.message_creation is not None:
            found = [(True, call) for _, call in found]
        for call in step.step_details.tool_calls:
            if call.code_interpreter is not None and step.status == "completed":
                found.append((False, call.code_interpreter))
    return found


def unshown_images(calls: list[tuple[bool, CodeInterpreterCall]]) -> list[str]:
    """Images of the calls since the run's last message: the next answer shows them."""
    return [
        o.image.file_id
        for answered, call in calls
        if not answered
        for o in call.outputs
        if o.type == "image" and o.image is not None
    ]


def file_paths(text: str, calls: list[tuple[bool, CodeInterpreterCall]]) -> list[Annotation]:
    """A `file_path` annotation for each `sandbox:/mnt/data/…` link to a file the run's code
    wrote; its indices cover the link."""
    made = {f.path: f.file_id for _, call in calls for f in call.files}
    found = []
    for match in LINK.finditer(text):
        path = match[1].rstrip(".,;:!?")
        if path in made:
            end = match.start(1) + len(path)
            found.append(
                Annotation(
                    type="file_path",
                    text=text[match.start() : end],
                    start_index=match.start(),
                    end_index=end,
                    file_path=FileReference(file_id=made[path]),
                )
            )
    return found
