"""One thread's sandbox session, as the supervisor sees it: a runner process in a jail, its
request and reply pipes, and its logs pipe.

A call's limits are kept here: CPU time (the runner's RLIMIT_CPU, moved before each call),
wall time and output size (counted here). A call past one is interrupted (SIGINT, so a loop
in Python ends with KeyboardInterrupt and the session's state survives); one that does not
stop within INTERRUPT_GRACE_SECONDS has its session killed — the next call gets a new one.

Whatever the runner says is checked: it runs in the same process as the code."""

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import structlog

from engine.sandbox.jail import Jail, Limits, Unavailable

log = structlog.get_logger(__name__)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CPU_POLL_SECONDS = 0.2
STRAY_SECONDS = 2.0
MEMORY = "memory limit exceeded"
START_SECONDS = 30.0  # for the runner to say it is ready
INTERRUPT_GRACE_SECONDS = 2.0
CLOSE_SECONDS = 5.0
MAX_OUTPUTS = 20
MAX_HEADER_BYTES = 64 * 1024
SPOOL_BYTES = 1024 * 1024  # an output file bigger than this waits on disk, not in memory
# A name the runner gives an output: a relative path without `..`, NUL or control characters.
_NAME = re.compile(r"^(?!.*(?:^|/)\.\.(?:/|$))[^/\x00-\x1f][^\x00-\x1f]{0,254}$")

Logs = Callable[[str], Awaitable[None]]
Read = Callable[[int], Awaitable[bytes]]


class SessionBroken(Exception):
    """The runner died or said something it should not: the session is closed."""


class NotPut(Exception):
    """A file did not fit in /mnt/data (the session is fine)."""


@dataclass
class Output:
    """A file the call made: a figure, or a file written under /mnt/data."""

    kind: Literal["image", "file"]
    name: str  # relative to /mnt/data (a figure's: figure-N.png)
    data: IO[bytes]  # at its start
    size: int
    figure: bool


@dataclass
class Execution:
    logs: str
    error: str | None  # the error's last line, when the code raised
    outputs: list[Output] = field(default_factory=list)
    # Set when a limit ended the call (the logs end with why).
    limit: str | None = None

    def close(self) -> None:
        for output in self.outputs:
            output.data.close()


class _Call:
    """What one call's logs pipe says, up to the output limit."""

    def __init__(self, nonce: bytes, limit: int, on_logs: Logs) -> None:
        self.nonce = nonce
        self.limit = limit
        self.on_logs = on_logs
        self.kept = bytearray()
        self.over = asyncio.Event()
        self.done = asyncio.Event()
        self.pending = b""  # the end of what was read, which may be the nonce's start

    async def take(self, data: bytes) -> None:
        data = self.pending + data
        found = data.find(self.nonce)
        if found >= 0:
            data, self.pending = data[:found], b""
            self.done.set()
        else:  # held back: what may be the start of the nonce, split across reads
            keep = _nonce_start(data, self.nonce)
            data, self.pending = data[: len(data) - keep], data[len(data) - keep :]
        room = self.limit - len(self.kept)
        if len(data) > room:
            data = data[: max(room, 0)]
            self.over.set()
        if data:
            self.kept += data
            await self.on_logs(_text(bytes(data)))


def _zombie(pid: int) -> bool:
    """Ended (or gone): its state in /proc is Z, or it has no entry left."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _nonce_start(data: bytes, nonce: bytes) -> int:
    """The length of the longest end of `data` that begins `nonce`."""
    for size in range(min(len(nonce) - 1, len(data)), 0, -1):
        if data.endswith(nonce[:size]):
            return size
    return 0


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class Session:
    def __init__(self, jail: Jail, key: str) -> None:
        self.jail = jail
        self.limits: Limits = jail.limits
        self.key = key
        self.process: asyncio.subprocess.Process | None = None
        self.init_pid: int | None = None  # bwrap's init in the sandbox, on the host
        self.runner_pid: int | None = None
        self.requests: asyncio.StreamWriter | None = None
        self.replies: asyncio.StreamReader | None = None
        self.reader: asyncio.Task[None] | None = None
        self.call: _Call | None = None
        self.files: dict[str, str] = {}  # name in /mnt/data → file id put there
        self.last_used = time.monotonic()
        self.lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        """Starts the runner and waits for it to be ready. Raises Unavailable."""
        loop = asyncio.get_running_loop()
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        info_read, info_write = os.pipe()
        try:
            command = self.jail.command(request_read, reply_write, info_write)
        except BaseException:
            for descriptor in (request_read, request_write, reply_read, reply_write):
                os.close(descriptor)
            os.close(info_read)
            os.close(info_write)
            raise
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                pass_fds=(request_read, reply_write, info_write, command.seccomp),
                start_new_session=True,
            )
        finally:
            for descriptor in (request_read, reply_write, info_write, command.seccomp):
                os.close(descriptor)
        # A StreamReaderProtocol (its reader unused) gives the writer flow control.
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), loop=loop),
            os.fdopen(request_write, "wb", buffering=0),
        )
        self.requests = asyncio.StreamWriter(transport, protocol, None, loop)
        self.replies = await _reader(reply_read)
        info = await _reader(info_read)
        try:
            ready = await asyncio.wait_for(self._header(), START_SECONDS)
        except (SessionBroken, TimeoutError):
            reason = await self._startup_failure()
            raise Unavailable(f"the sandbox did not start: {reason}") from None
        if ready.get("op") != "ready":
            await self.close()
            raise Unavailable("the sandbox did not start: its runner said something else")
        self.init_pid, self.runner_pid = _pids(await info.readuntil(b"}"))
        if self.init_pid is None or self.runner_pid is None:
            # Its CPU time and memory could not be kept: no code runs in it.
            await self.close()
            raise Unavailable("the sandbox's processes could not be found in /proc")
        self.reader = asyncio.create_task(self._read_logs())

    async def _startup_failure(self) -> str:
        """What bwrap or the runner printed before giving up."""
        said = b""
        if self.process is not None and self.process.stdout is not None:
            with contextlib.suppress(TimeoutError):
                said = await asyncio.wait_for(self.process.stdout.read(4096), 2)
        await self.close()
        return _text(said).strip() or "it exited without a word"

    async def put(self, name: str, file_id: str, size: int, read: Read) -> None:
        """Copies a file into /mnt/data/`name`."""
        assert self.requests is not None
        header = {"op": "put", "name": name, "size": size}
        self.requests.write(json.dumps(header).encode() + b"\n")
        left = size
        while left:
            piece = await read(min(left, SPOOL_BYTES)) or b"\0" * min(left, SPOOL_BYTES)
            piece = piece[:left]
            self.requests.write(piece)
            left -= len(piece)
            await self._drain()
        await self._drain()
        try:
            reply = await asyncio.wait_for(self._header(), self.limits.wall_seconds)
        except TimeoutError:
            raise SessionBroken(f"the runner did not take {name}") from None
        if reply.get("op") == "failed":
            raise NotPut(f"{name} could not be copied into /mnt/data: {reply.get('error')}")
        if reply.get("op") != "ok":
            raise SessionBroken(f"the runner did not take {name}")
        self.files[name] = file_id

    async def execute(self, code: str, on_logs: Logs) -> Execution:
        """Runs `code` in the session; its logs go to `on_logs` as they come. Never raises
        for what the code does: a limit, or a session that broke, ends the call with the
        reason at the end of its logs."""
        assert self.requests is not None
        self.last_used = time.monotonic()
        nonce = secrets.token_hex(16)
        call = self.call = _Call(nonce.encode(), self.limits.output_bytes, on_logs)
        try:
            return await self._execute(code, nonce, call)
        except SessionBroken as broken:
            await self.close()
            return await self._ended(call, f"the sandbox session broke ({broken})", reset=True)
        finally:
            self.call = None
            self.last_used = time.monotonic()

    async def _execute(self, code: str, nonce: str, call: _Call) -> Execution:
        assert self.requests is not None
        self.requests.write(json.dumps({"op": "exec", "code": code, "nonce": nonce}).encode())
        self.requests.write(b"\n")
        await self._drain()
        finished = asyncio.ensure_future(self._finish(call))
        limit = await self._watch(finished, call)
        # Memory past the limit is not given the grace to stop: the host needs it back.
        if limit is not None and (limit.startswith(MEMORY) or not await self._interrupt(finished)):
            finished.cancel()
            await self.close()
            return await self._ended(call, limit, reset=True)
        header, outputs = await finished
        await self._end_strays()
        if limit is not None:
            for output in outputs:
                output.data.close()
            return await self._ended(call, limit, reset=False)
        error = header.get("error")
        return Execution(
            _text(bytes(call.kept)), error if isinstance(error, str) else None, outputs
        )

    async def _ended(self, call: _Call, why: str, reset: bool) -> Execution:
        """A call a limit (or a broken session) ended: why, at the end of its logs."""
        then = "the call was stopped and the session reset" if reset else "the call was stopped"
        message = f"\n[{why}: {then}]\n"
        await call.on_logs(message)
        return Execution(_text(bytes(call.kept)) + message, why, limit=why)

    async def _watch(self, finished: asyncio.Future[Any], call: _Call) -> str | None:
        """Waits for the call; the limit it hit, if one ended it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.wall_seconds
        cpu_start = self.cpu_seconds()
        over = asyncio.ensure_future(call.over.wait())
        try:
            while not finished.done():
                if call.over.is_set():
                    return f"output limit exceeded ({self.limits.output_bytes} bytes)"
                if self.cpu_seconds() - cpu_start > self.limits.cpu_seconds:
                    return f"CPU time limit exceeded ({self.limits.cpu_seconds} s)"
                if self.memory_bytes() > self.limits.memory_bytes:
                    return f"{MEMORY} ({self.limits.memory_bytes} bytes, all processes together)"
                left = deadline - loop.time()
                if left <= 0:
                    return f"wall time limit exceeded ({self.limits.wall_seconds:g} s)"
                await asyncio.wait(
                    {finished, over},
                    timeout=min(left, CPU_POLL_SECONDS),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            return None
        finally:
            over.cancel()

    async def _interrupt(self, finished: asyncio.Future[Any]) -> bool:
        """SIGINT to the runner; whether the call ended within the grace period."""
        if self.runner_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.runner_pid, signal.SIGINT)
        with contextlib.suppress(TimeoutError, SessionBroken):
            await asyncio.wait_for(asyncio.shield(finished), INTERRUPT_GRACE_SECONDS)
        if finished.done() and finished.exception() is None:
            return True
        finished.cancel()
        return False

    async def _finish(self, call: _Call) -> tuple[dict[str, Any], list[Output]]:
        """The runner's reply to the call, its outputs, and the end of its logs."""
        header = await self._header()
        if header.get("op") != "done" or not isinstance(header.get("outputs"), list):
            raise SessionBroken("the runner's reply made no sense")
        listed = header["outputs"][:MAX_OUTPUTS]
        outputs = []
        try:
            for item in listed:
                outputs.append(await self._output(item))
        except BaseException:
            for output in outputs:
                output.data.close()
            raise
        await call.done.wait()
        return header, [output for output in outputs if output.size or not output.figure]

    async def _output(self, item: Any) -> Output:
        blob = await self._header()
        size = blob.get("size")
        name = item.get("name") if isinstance(item, dict) else None
        if (
            blob.get("op") != "blob"
            or blob.get("name") != name
            or not isinstance(name, str)
            or not _NAME.match(name)
            or not isinstance(size, int)
            or not 0 <= size <= self.limits.disk_bytes
            or item.get("kind") not in ("image", "file")
        ):
            raise SessionBroken("the runner described an output wrongly")
        assert self.replies is not None
        data = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115  (Output's)
        left = size
        while left:
            piece = await self.replies.read(min(left, SPOOL_BYTES))
            if not piece:
                data.close()
                raise SessionBroken("the runner stopped mid-output")
            data.write(piece)
            left -= len(piece)
        data.seek(0)
        return Output(item["kind"], name, data, size, bool(item.get("figure")))

    async def _header(self) -> dict[str, Any]:
        assert self.replies is not None
        try:
            line = await self.replies.readuntil(b"\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            raise SessionBroken("the runner's reply pipe broke") from error
        try:
            header = json.loads(line)
        except ValueError:
            raise SessionBroken("the runner's reply was not JSON") from None
        if not isinstance(header, dict):
            raise SessionBroken("the runner's reply was not an object")
        return header

    async def _read_logs(self) -> None:
        """The logs pipe, always read (a writer never blocks); what comes between calls,
        from a process left in the background, is dropped."""
        assert self.process is not None
        assert self.process.stdout is not None
        while data := await self.process.stdout.read(65536):
            if self.call is not None:
                await self.call.take(data)

    async def _drain(self) -> None:
        assert self.requests is not None
        try:
            await self.requests.drain()
        except (ConnectionError, BrokenPipeError) as error:
            raise SessionBroken("the runner's request pipe broke") from error

    def _processes(self) -> list[int]:
        """The sandbox's processes on the host, bwrap's init first."""
        found, pending = [], [self.init_pid] if self.init_pid is not None else []
        while pending:
            pid = pending.pop()
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as children:
                    pending += [int(child) for child in children.read().split()]
            except (OSError, ValueError):
                continue  # it ended meanwhile
            found.append(pid)
        return found

    async def _end_strays(self) -> None:
        """Kills what a call left running besides the runner (a fork bomb's children, a
        process in the background): the next call starts from a quiet sandbox. The killed
        are zombies until the sandbox's init reaps them: those are not waited for."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STRAY_SECONDS
        while strays := [
            pid
            for pid in self._processes()
            if pid not in (self.init_pid, self.runner_pid) and not _zombie(pid)
        ]:
            if loop.time() > deadline:
                raise SessionBroken("processes it started could not be stopped")
            for pid in strays:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.01)

    def memory_bytes(self) -> int:
        """Memory the sandbox's processes hold: their proportional set sizes (a page shared
        by n processes counts 1/n in each), from the kernel's accounting in /proc."""
        total = 0
        for pid in self._processes():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as rollup:
                    for line in rollup:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except (OSError, ValueError):
                continue  # it ended meanwhile
        return total

    def cpu_seconds(self) -> float:
        """CPU time the sandbox's processes used: each live one's, and its reaped
        children's (the kernel's own accounting, read from /proc)."""
        total = 0
        for pid in self._processes():
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended meanwhile
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        return total / CLOCK_TICKS

    async def close(self) -> None:
        """Kills the whole sandbox: bwrap's death takes its pid namespace with it."""
        process, self.process = self.process, None
        if self.reader is not None:
            self.reader.cancel()
        if self.requests is not None:
            self.requests.close()
        if process is None:
            return
        if process.returncode is None:
            # bwrap's group, and the sandbox's init and runner by pid: they are in a session
            # of their own, and one kill must not depend on the other.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            # Each only while it is still its parent's child: a pid is never killed twice
            # over after being reused.
            for pid, parent in ((self.init_pid, process.pid), (self.runner_pid, self.init_pid)):
                if pid is not None and _parent(pid) == parent:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
        try:
            # wait() also waits for bwrap's stdout to close: bounded, so a process that
            # still holds it can never hang the caller (the engine's stop).
            await asyncio.wait_for(process.wait(), CLOSE_SECONDS)
        except TimeoutError:
            log.warning("sandbox_close_timed_out", key=self.key, pid=process.pid)


async def _reader(descriptor: int) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_HEADER_BYTES, loop=loop)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), os.fdopen(descriptor, "rb", 0)
    )
    return reader


def _pids(info: bytes) -> tuple[int | None, int | None]:
    """bwrap's init in the sandbox and the runner (its only child), as the host numbers
    them."""
    try:
        init = int(json.loads(info)["child-pid"])
        with open(f"/proc/{init}/task/{init}/children") as children:
            return init, int(children.read().split()[0])
    except (ValueError, KeyError, OSError, IndexError):
        return None, None
