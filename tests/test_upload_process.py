"""A 200 MB upload and download through a real `threadline run` process: the bytes arrive
whole, and the server's memory does not grow with the file (it streams in chunks)."""

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from app.embedded_db import MEMORY, EmbeddedDatabase
from app.keys import DEV_KEY_FILE, read_secret
from app.processes import free_port
from tests.graphql import UPLOAD_FILE
from tests.processes import THREADLINE, environment
from tests.servers import wait_until_serving

SIZE = 200 * 1024 * 1024
# Well under the file's size: a server that held the file (or a copy) would pass it.
MAX_GROWTH = 100 * 1024 * 1024


def peak_memory(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


@pytest.fixture
def big_file(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    path = tmp_path / "big.txt"
    digest = hashlib.sha256()
    line = b"All work and no play makes a big upload; " * 25 + b"\n"
    with path.open("wb") as out:
        written = 0
        while written < SIZE:
            piece = line[: SIZE - written]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
    yield path, digest.hexdigest()
    path.unlink()


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of its own: the file and its oplog entries take 400 MB of an in-memory
    database's 1 GB, which the session's database shares with every other test."""
    database = EmbeddedDatabase(MEMORY)
    yield database.start()
    database.stop()


@pytest.mark.timeout(600)
def test_a_200_mb_file_streams_both_ways(
    own_database: str, tmp_path: Path, big_file: tuple[Path, str]
) -> None:
    path, sha256 = big_file
    port = free_port()
    env = environment(
        own_database, "threadline_upload", tmp_path, port=port, workers=0, processes=1
    )
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([THREADLINE, "run"], env=env, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/graphql", process, log)
        key = read_secret(tmp_path / DEV_KEY_FILE)
        headers = {"authorization": f"Bearer {key}", "apollo-require-preflight": "true"}
        with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
            upload(client, "warm-up.txt", b"warm")  # the server's one-time costs, first
            before = peak_memory(process.pid)
            with path.open("rb") as content:
                file = upload(client, "big.txt", content)
            assert file["bytes"] == SIZE
            digest = hashlib.sha256()
            with client.stream("GET", file["downloadUrl"]) as response:
                assert response.status_code == 200
                assert int(response.headers["content-length"]) == SIZE
                for chunk in response.iter_bytes():
                    digest.update(chunk)
            grown = peak_memory(process.pid) - before
            client.post(
                "/graphql",
                json={
                    "query": "mutation($id: ID!) { deleteFile(id: $id) { id } }",
                    "variables": {"id": file["id"]},
                },
            )
        assert digest.hexdigest() == sha256
        assert grown < MAX_GROWTH, f"the server's peak memory grew by {grown / 2**20:.0f} MB"
    finally:
        process.terminate()
        process.wait(timeout=30)


def upload(client: httpx.Client, name: str, content: bytes | IO[bytes]) -> dict[str, Any]:
    operations = {"query": UPLOAD_FILE, "variables": {"file": None, "purpose": "ASSISTANTS"}}
    response = client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, content)},
    )
    body = response.json()
    assert "errors" not in body, body
    file: dict[str, Any] = body["data"]["uploadFile"]
    return file
