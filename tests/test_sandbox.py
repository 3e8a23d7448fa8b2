"""Sandbox sessions with real bubblewrap processes: one per thread, kept, closed when idle,
bounded per worker, replaced when they die; a runner that lies is cut off; a host where no
sandbox can be made says why and runs nothing."""

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.settings import Settings
from engine.sandbox.jail import Jail, Limits, Unavailable
from engine.sandbox.pool import SandboxPool
from engine.sandbox.session import NotPut, Session
from tests.graphql import GraphQLClient
from tests.runs import new_assistant
from tests.servers import until
from tests.test_code_interpreter import CODE, logs_of, run_code

LIMITS = Limits(
    cpu_seconds=3,
    wall_seconds=10,
    memory_bytes=512 * 1024 * 1024,
    processes=32,
    output_bytes=64 * 1024,
    disk_bytes=64 * 1024 * 1024,
)
JAIL = Jail(Settings().sandbox_python, LIMITS)


async def ignore(piece: str) -> None:
    pass


@pytest.fixture
async def pool() -> AsyncIterator[SandboxPool]:
    sandboxes = SandboxPool(JAIL, max_sessions=2, idle_seconds=0.5)
    try:
        yield sandboxes
    finally:
        await sandboxes.stop()


def reader(data: bytes) -> Any:
    position = 0

    async def read(size: int) -> bytes:
        nonlocal position
        piece = data[position : position + size]
        position += len(piece)
        return piece

    return read


async def test_a_session_keeps_state_and_takes_large_files(pool: SandboxPool) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    async with pool.session("thread-a") as session:
        await session.put("blob.bin", "file-1", len(data), reader(data))
        result = await session.execute(
            "import hashlib\nx = hashlib.sha256(open('blob.bin', 'rb').read()).hexdigest()",
            ignore,
        )
        assert result.error is None
    async with pool.session("thread-a") as again:
        assert again is session
        result = await again.execute("x", ignore)
    assert result.logs == repr(hashlib.sha256(data).hexdigest()) + "\n"


async def test_idle_sessions_are_closed(pool: SandboxPool) -> None:
    async with pool.session("thread-a") as session:
        await session.execute("x = 1", ignore)
    process = session.process
    assert process is not None

    async def closed() -> bool:
        await pool.sweep()
        return "thread-a" not in pool.sessions

    await until(closed)
    assert process.returncode is not None


async def test_the_session_idle_longest_makes_room(pool: SandboxPool) -> None:
    pool.idle_seconds = 3600
    async with pool.session("a") as first:
        await first.execute("1", ignore)
    async with pool.session("b") as second:
        await second.execute("1", ignore)
    async with pool.session("a") as used_again:
        assert used_again is first
    async with pool.session("c"):
        assert set(pool.sessions) == {"a", "c"}
    assert not second.alive
    assert first.alive


async def test_a_dead_session_is_replaced(pool: SandboxPool) -> None:
    async with pool.session("a") as session:
        await session.execute("x = 1", ignore)
    assert session.process is not None
    os.killpg(session.process.pid, signal.SIGKILL)
    await session.process.wait()
    async with pool.session("a") as fresh:
        assert fresh is not session
        result = await fresh.execute("print('x' in globals())", ignore)
    assert result.logs == "False\n"


async def test_a_runner_that_lies_is_cut_off(pool: SandboxPool) -> None:
    """The code owns the runner's process: what it writes on the reply pipe is refused."""
    lie = "import json, os, sys\nos.write(json.loads(sys.argv[1])['replies'], b'nonsense\\n')"
    async with pool.session("a") as session:
        result = await session.execute(lie, ignore)
    assert result.limit is not None
    assert "the sandbox session broke" in result.logs
    assert not session.alive
    async with pool.session("a") as fresh:
        assert (await fresh.execute("print(2)", ignore)).logs == "2\n"


async def test_an_output_named_outside_mnt_data_is_refused(pool: SandboxPool) -> None:
    lie = (
        "import json, os, sys\nfd = json.loads(sys.argv[1])['replies']\n"
        "os.write(fd, json.dumps({'op': 'done', 'error': None, 'outputs': "
        "[{'kind': 'file', 'name': '../../etc/passwd'}]}).encode() + b'\\n')\n"
        "os.write(fd, json.dumps({'op': 'blob', 'name': '../../etc/passwd', 'size': 1})"
        ".encode() + b'\\nx')"
    )
    async with pool.session("a") as session:
        result = await session.execute(lie, ignore)
    assert result.outputs == []
    assert "the sandbox session broke" in result.logs


async def test_no_sandbox_without_its_python(pool: SandboxPool) -> None:
    pool.jail = Jail(Path("/nonexistent/bin/python"), LIMITS)
    with pytest.raises(Unavailable, match="sandbox's Python /nonexistent/bin/python is missing"):
        async with pool.session("a"):
            pass
    assert pool.sessions == {}


async def test_no_sandbox_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "bwrap" in (JAIL.problem() or "")
    assert "not installed" in (JAIL.problem() or "")
    with pytest.raises(Unavailable):
        await Session(JAIL, "a").start()


async def test_a_run_says_why_no_sandbox_can_be_made(
    gql: GraphQLClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.engine.sandboxes, "jail", Jail(Path("/nowhere/python"), LIMITS))
    assistant = await new_assistant(gql, tools=[CODE])
    _, call = await run_code(gql, assistant, "print('never run')")
    logs = logs_of(call)
    assert logs.startswith("code_interpreter is unavailable on this server:")
    assert "never run" not in logs


async def test_a_threads_files_come_back_in_a_new_session(gql: GraphQLClient, app: FastAPI) -> None:
    shared = await gql.upload("kept.csv", b"k,v\n1,2\n")
    assistant = await new_assistant(
        gql, tools=[CODE], toolResources={"codeInterpreter": {"fileIds": [shared["id"]]}}
    )
    ended, _ = await run_code(gql, assistant, "x = 1")
    pool: SandboxPool = app.state.engine.sandboxes
    session = pool.sessions[ended["threadId"]]
    assert session.process is not None
    os.killpg(session.process.pid, signal.SIGKILL)  # as when its worker died
    await session.process.wait()
    _, call = await run_code(
        gql, assistant, "print('x' in globals(), open('kept.csv').read())", ended["threadId"]
    )
    assert logs_of(call) == "False k,v\n1,2\n\n"


async def test_at_most_twenty_files_come_back_per_call(pool: SandboxPool) -> None:
    code = "for i in range(23):\n    open(f'/mnt/data/f{i:02}.txt', 'w').write(str(i))"
    async with pool.session("a") as session:
        result = await session.execute(code, ignore)
    try:
        assert [o.name for o in result.outputs] == [f"f{i:02}.txt" for i in range(20)]
        assert result.outputs[7].data.read() == b"7"
        assert "not: f20.txt, f21.txt, f22.txt" in result.logs
    finally:
        result.close()


async def test_a_sandbox_python_in_a_private_folder(tmp_path: Path) -> None:
    """A server running as root runs the sandbox as `nobody`: a Python under a folder only
    root may enter (a clone in a `mktemp -d` folder) is still reached."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", private / "venv"], check=True)
    jail = Jail(private / "venv" / "bin" / "python", LIMITS)
    session = Session(jail, "a")
    await session.start()
    try:
        result = await session.execute("import os, sys\nprint(sys.prefix, os.getuid())", ignore)
    finally:
        await session.close()
    user = 65534 if os.geteuid() == 0 else os.geteuid()
    assert result.logs == f"{private / 'venv'} {user}\n"


async def test_a_file_larger_than_the_folder_is_refused_and_the_session_goes_on(
    pool: SandboxPool,
) -> None:
    big = b"x" * (LIMITS.disk_bytes + 1024 * 1024)
    async with pool.session("a") as session:
        with pytest.raises(NotPut, match=r"big.bin could not be copied into /mnt/data"):
            await session.put("big.bin", "file-big", len(big), reader(big))
        await session.put("small.txt", "file-small", 5, reader(b"small"))
        result = await session.execute("import os\nprint(sorted(os.listdir()))", ignore)
    assert result.logs == "['small.txt']\n"
    assert session.files == {"small.txt": "file-small"}


async def test_processes_left_running_are_ended_and_the_session_keeps_its_state(
    pool: SandboxPool,
) -> None:
    code = (
        "import os, time\nkept = 'state'\n"
        "for _ in range(5):\n    if os.fork() == 0:\n        time.sleep(60)\n        os._exit(0)"
    )
    async with pool.session("a") as session:
        left = await session.execute(code, ignore)
        after = await session.execute("print(kept)", ignore)
    assert left.error is None
    assert left.limit is None
    assert session.alive
    assert after.logs == "state\n"
    # The next call began by reaping them: only bwrap's init and the runner are left.
    assert session._processes() == [session.init_pid, session.runner_pid]


async def test_each_session_counts_its_own_processes(pool: SandboxPool) -> None:
    """RLIMIT_NPROC is counted in each sandbox's user namespace: one session holding all it
    may have leaves another its own."""
    hold = (
        "import os, time\nn = 0\nwhile True:\n    try:\n        pid = os.fork()\n"
        "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(30)\n"
        "        os._exit(0)\n    n += 1\nprint('held', n)\ntime.sleep(3)"
    )
    fork = (
        "import os\nfor _ in range(10):\n    if os.fork() == 0:\n        os._exit(0)\n"
        "    os.wait()\nprint('forked')"
    )
    async with pool.session("a") as first, pool.session("b") as second:
        holding = asyncio.create_task(first.execute(hold, ignore))
        await until(lambda: _at_limit(first))
        forked = await second.execute(fork, ignore)
        held = await holding
    assert forked.logs == "forked\n"
    assert held.logs.startswith("held ")


async def _at_limit(session: Session) -> bool:
    return len(session._processes()) >= LIMITS.processes - 2
