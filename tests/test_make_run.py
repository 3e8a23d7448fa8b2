"""`make run` for real: it serves, keeps data across restarts, survives a `kill -9`, and a
second one on the same state dir leaves the first alone."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.keys import DEV_KEY_FILE, read_secret
from app.processes import free_port, is_listening
from tests.servers import wait_until_serving

ROOT = Path(__file__).resolve().parent.parent


def post(port: int, query: str, key: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def server_pid(make: subprocess.Popen[bytes]) -> int:
    """The `threadline run` process that make started (the recipe execs it)."""
    children = Path(f"/proc/{make.pid}/task/{make.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


@contextmanager
def make_run(
    port: int, state_dir: Path, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`make run` on the embedded database; its output goes to `log` when given."""
    environment = {
        **os.environ,
        "THREADLINE_PORT": str(port),
        "THREADLINE_STATE_DIR": str(state_dir),
    }
    environment.pop("THREADLINE_MONGODB_URI", None)
    output = log.open("wb") if log else None
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=environment,
        stdout=output,
        stderr=output,
        start_new_session=True,
    )
    if output:
        output.close()  # the child has its own copy
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # a stuck server must not outlive its test
                process.wait(timeout=30)
                raise


def database_processes(state_dir: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"secantus" in cmdline and str(state_dir).encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.timeout(240)
def test_make_run_serves_keeps_data_and_survives_kill_9(tmp_path: Path) -> None:
    port = free_port()
    create = (
        'mutation { createAssistant(input: {model: "threadline/scripted", name: "kept"}) { id } }'
    )
    with make_run(port, tmp_path) as make:
        wait_until_serving(f"http://127.0.0.1:{port}/graphql", make)
        # First start: the default project's key, kept for the next starts.
        dev_key = read_secret(tmp_path / DEV_KEY_FILE)
        assert (tmp_path / DEV_KEY_FILE).stat().st_mode & 0o777 == 0o600
        assistant_id = post(port, create, dev_key)["data"]["createAssistant"]["id"]
        os.kill(server_pid(make), signal.SIGKILL)
        make.wait(timeout=10)

    # The database child dies with its parent; the next `make run` starts on the same folder.
    with make_run(port, tmp_path) as make:
        wait_until_serving(f"http://127.0.0.1:{port}/graphql", make)
        assert read_secret(tmp_path / DEV_KEY_FILE) == dev_key
        read = post(port, f'{{ assistant(id: "{assistant_id}") {{ name }} }}', dev_key)
        assert read["data"]["assistant"] == {"name": "kept"}
        assert len(database_processes(tmp_path)) == 1
        os.kill(server_pid(make), signal.SIGTERM)
        make.wait(timeout=30)

    assert database_processes(tmp_path) == []
    assert not (tmp_path / "db.pid").exists()


def log_records(log: Path) -> list[dict[str, Any]]:
    """The structured (JSON) lines of a server's output; make's own lines are left out."""
    lines = log.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def refusal(log: Path) -> dict[str, Any]:
    records = [r for r in log_records(log) if r["event"] == "threadline_already_running"]
    assert len(records) == 1, log.read_text()
    return records[0]


CREATE = 'mutation { createAssistant(input: {model: "threadline/scripted", name: "%s"}) { id } }'
READ = '{ assistant(id: "%s") { name } }'


def assert_serves(port: int, key: str, name: str) -> None:
    """A write, then reading it back: the server and its database both answer."""
    assistant_id = post(port, CREATE % name, key)["data"]["createAssistant"]["id"]
    assert post(port, READ % assistant_id, key)["data"]["assistant"] == {"name": name}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("same_port", [True, False], ids=["same-port", "another-port"])
def test_a_second_make_run_on_the_same_state_dir_is_refused(
    tmp_path: Path, same_port: bool
) -> None:
    state = tmp_path / "state"
    port = free_port()
    with make_run(port, state) as first:
        wait_until_serving(f"http://127.0.0.1:{port}/graphql", first)
        key = read_secret(state / DEV_KEY_FILE)
        assert_serves(port, key, "before")
        database = database_processes(state)
        assert len(database) == 1

        log = tmp_path / "second.log"
        with make_run(port if same_port else free_port(), state, log) as second:
            assert second.wait(timeout=120) != 0, log.read_text()
        refused = refusal(log)
        assert refused["pid"] == server_pid(first)
        assert refused["address"] == f"http://127.0.0.1:{port}/graphql"
        assert refused["state_dir"] == str(state)

        # The first server, and the very same database process, go on as if nothing happened.
        assert first.poll() is None
        assert database_processes(state) == database
        assert (state / "db.pid").read_text() == str(database[0])
        assert_serves(port, key, "after")


def wait_for_exit(processes: list[subprocess.Popen[bytes]], timeout: float = 120) -> int:
    """The index of the first of `processes` to exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for index, process in enumerate(processes):
            if process.poll() is not None:
                return index
        time.sleep(0.1)
    raise AssertionError(f"none of them exited within {timeout} s")


@pytest.mark.timeout(240)
def test_two_make_runs_started_together_leave_exactly_one_serving(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with make_run(ports[0], state, logs[0]) as a, make_run(ports[1], state, logs[1]) as b:
        loser = wait_for_exit([a, b])
        winner = 1 - loser
        assert [a, b][loser].returncode != 0
        # It may have lost before the winner wrote down who it is: no pid to name then.
        assert refusal(logs[loser])["state_dir"] == str(state)
        wait_until_serving(
            f"http://127.0.0.1:{ports[winner]}/graphql", [a, b][winner], logs[winner]
        )
        assert_serves(ports[winner], read_secret(state / DEV_KEY_FILE), "one")
        assert len(database_processes(state)) == 1


def start_orphan(state: Path) -> subprocess.Popen[bytes]:
    """A database on `state/data` with no server: what a dead server's database looks like."""
    port = free_port()
    command = [sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--storage-path", str(state / "data"), "--log-level", "WARNING"]
    orphan = subprocess.Popen(command)
    (state / "db.pid").write_text(str(orphan.pid))
    deadline = time.monotonic() + 60
    while not is_listening("127.0.0.1", port):
        assert orphan.poll() is None, "the orphan exited"
        assert time.monotonic() < deadline, "the orphan did not start"
        time.sleep(0.05)
    return orphan


@pytest.mark.timeout(240)
def test_make_run_stops_the_orphan_of_a_dead_server(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    orphan = start_orphan(state)
    try:
        port = free_port()
        log = tmp_path / "server.log"
        with make_run(port, state, log) as make:
            # Waiting reaps it: left a zombie, it would look alive to the server.
            orphan.wait(timeout=60)
            wait_until_serving(f"http://127.0.0.1:{port}/graphql", make, log)
            assert_serves(port, read_secret(state / DEV_KEY_FILE), "after the orphan")
            assert len(database_processes(state)) == 1
            assert orphan.pid not in database_processes(state)
            events = [r["event"] for r in log_records(log)]
            assert "embedded_database_orphan_stopped" in events
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
