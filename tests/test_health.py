"""Health: /healthz says the process is up, /readyz whether it can serve (the database answers
and has its indexes). Neither needs a key; FastAPI's CDN-loaded docs pages are not served."""

import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from pymongo import MongoClient

from app.embedded_db import EmbeddedDatabase
from tests.apps import changed_app
from tests.conftest import client
from tests.processes import http_url, server

READY_WAIT_SECONDS = 60.0


def readiness(base: str) -> tuple[int, dict[str, str]]:
    answer = httpx.get(f"{base}/readyz", timeout=30)
    return answer.status_code, answer.json()


def test_readyz_follows_the_database_and_its_indexes(tmp_path: Path) -> None:
    # A database of its own, on disk, stopped and started again under the server.
    database = EmbeddedDatabase(tmp_path / "db")
    uri = database.start()
    try:
        with server(uri, "threadline_health", tmp_path) as live:
            base = http_url(live)
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
            assert readiness(base) == (200, {"status": "ready"})

            database.stop()
            status, body = readiness(base)
            assert status == 503
            assert body["status"] == "unavailable"
            assert "did not answer within 2 s" in body["reason"]
            assert httpx.get(f"{base}/healthz").status_code == 200  # up, just not ready

            database.start()
            deadline = time.monotonic() + READY_WAIT_SECONDS
            while readiness(base)[0] != 200:
                assert time.monotonic() < deadline, "never ready again"
                time.sleep(0.2)

            mongo: MongoClient[dict[str, object]]
            with MongoClient(uri) as mongo:
                mongo["threadline_health"]["assistants"].drop_indexes()
            status, body = readiness(base)
            assert status == 503
            assert "assistants.project_id_1_created_at_1__id_1" in body["reason"]
    finally:
        database.stop()


async def test_health_needs_no_key_and_the_docs_pages_are_not_served(app: FastAPI) -> None:
    async with client(app) as anonymous:
        assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
        assert (await anonymous.get("/readyz")).json() == {"status": "ready"}
        for page in ("/docs", "/redoc"):
            assert (await anonymous.get(page)).status_code == 404
        assert (await anonymous.get("/openapi.json")).status_code == 200
    async with client(changed_app(app, env="production")) as anonymous:
        assert (await anonymous.get("/openapi.json")).status_code == 404
        assert (await anonymous.get("/readyz")).json() == {"status": "ready"}
