"""Stopping a server: SIGTERM closes its websockets with 1001 (going away), so that clients
reconnect at once, elsewhere; then it shuts down in order and exits 0."""

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import websockets

from app.keys import DEV_KEY_FILE, read_secret
from app.processes import free_port
from app.websockets import GOING_AWAY, SHUTTING_DOWN
from tests.processes import THREADLINE, environment
from tests.servers import wait_until_serving
from tests.ws import connect, subscribe

EVENTS = "subscription($id: ID!) { threadEvents(threadId: $id) { event } }"
SUBSCRIBED_WAIT_SECONDS = 30.0


def subscriptions_active(base: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    for line in text.splitlines():
        if line.startswith("threadline_subscriptions_active"):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.parametrize("processes", [1, 2])
async def test_sigterm_closes_websockets_with_1001_then_exits_0(
    mongodb_uri: str, tmp_path: Path, processes: int
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(
        mongodb_uri,
        f"threadline_shutdown_{processes}",
        tmp_path,
        port=port,
        workers=0,
        processes=processes,
        log_levels="app.request_log=WARNING",  # no line per request; the rest at INFO
    )
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([THREADLINE, "run"], env=env, stdout=out, stderr=out)
    try:
        wait_until_serving(f"{base}/graphql", process, log)
        key = read_secret(tmp_path / DEV_KEY_FILE)
        created = httpx.post(
            f"{base}/graphql",
            json={"query": "mutation { createThread { id } }"},
            headers={"Authorization": f"Bearer {key}"},
        )
        thread_id = created.json()["data"]["createThread"]["id"]
        payload = {"authorization": f"Bearer {key}"}
        async with connect(f"ws://127.0.0.1:{port}/graphql", payload=payload) as socket:
            events = subscribe(socket, EVENTS, id=thread_id)
            pending = asyncio.ensure_future(anext(events))
            deadline = time.monotonic() + SUBSCRIBED_WAIT_SECONDS
            while subscriptions_active(base) < 1:
                assert time.monotonic() < deadline, "the subscription never started"
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(pending, 30)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (GOING_AWAY, SHUTTING_DOWN)
        assert process.wait(timeout=60) == 0, log.read_text()
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        logged = {line["event"]: line for line in lines}
        assert logged["websocket_opened"]["protocol"] == "graphql-transport-ws"
        assert logged["websocket_closed_shutdown"]["code"] == GOING_AWAY
        assert logged["websocket_ended"]["project"] == "proj_default"
        assert logged["websocket_ended"]["logger"] == "app.websockets"
        assert "request" not in logged  # THREADLINE_LOG_LEVELS
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
