"""`make run` for real: it serves, keeps data across restarts, and survives a `kill -9`."""

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.keys import DEV_KEY_FILE, read_secret
from app.processes import free_port
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
def make_run(port: int, state_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    environment = {
        **os.environ,
        "THREADLINE_PORT": str(port),
        "THREADLINE_STATE_DIR": str(state_dir),
    }
    environment.pop("THREADLINE_MONGODB_URI", None)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"], cwd=ROOT, env=environment, start_new_session=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


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
