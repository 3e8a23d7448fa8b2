"""Real Threadline processes for the tests that kill, pause and multiply them."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.keys import DEV_KEY_FILE, read_secret
from app.processes import free_port
from tests.servers import wait_until_serving
from tests.ws import Live


def http_url(live: Live) -> str:
    return live.ws_url.replace("ws://", "http://").removesuffix("/graphql")


THREADLINE = str(Path(sys.executable).with_name("threadline"))


def environment(uri: str, database: str, state: Path, **settings: object) -> dict[str, str]:
    env = {**os.environ, "THREADLINE_MONGODB_URI": uri, "THREADLINE_DATABASE_NAME": database}
    env["THREADLINE_STATE_DIR"] = str(state)
    env.update({f"THREADLINE_{name.upper()}": str(value) for name, value in settings.items()})
    return env


@contextmanager
def server(uri: str, database: str, state: Path, **settings: object) -> Iterator[Live]:
    """A `threadline run` process (no workers unless asked, one server process unless asked),
    with the database's dev key (written to `state` by whichever server started first on
    that database)."""
    port = free_port()
    log = state / f"server-{port}.log"
    settings.setdefault("workers", 0)
    settings.setdefault("processes", 1)
    env = environment(uri, database, state, port=port, **settings)
    with log.open("wb") as out:
        process = subprocess.Popen([THREADLINE, "run"], env=env, stdout=out, stderr=out)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/graphql", process, log)
        key = read_secret(state / DEV_KEY_FILE)
        yield Live(f"ws://127.0.0.1:{port}/graphql", {"authorization": f"Bearer {key}"})
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def worker(
    uri: str, database: str, state: Path, name: str, **settings: object
) -> Iterator[subprocess.Popen[bytes]]:
    """A `threadline worker` process; its log is `state/<name>.log`."""
    env = environment(uri, database, state, **settings)
    with (state / f"{name}.log").open("wb") as out:
        process = subprocess.Popen([THREADLINE, "worker"], env=env, stdout=out, stderr=out)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
