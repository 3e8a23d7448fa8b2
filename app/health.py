"""Health for orchestrators and load balancers: `GET /healthz` (the process is up: no key, no
database) and `GET /readyz` (the database answers and has every index: 503 with the reason
otherwise). Neither needs a key: they say nothing about any project."""

from typing import Any

import pymongo
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from models.database import Database

log = structlog.get_logger(__name__)
READY_TIMEOUT_SECONDS = 2.0  # a probe waits this long for the database, then answers 503

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    database: Database | None = getattr(request.app.state, "database", None)
    status, body = await readiness(database)
    return JSONResponse(body, status_code=status)


async def readiness(database: Database | None) -> tuple[int, dict[str, Any]]:
    """200 and `ready`, or 503 and why not."""
    if database is None:
        return 503, {"status": "unavailable", "reason": "Not connected to the database yet."}
    try:
        with pymongo.timeout(READY_TIMEOUT_SECONDS):
            await database.client.admin.command("ping")
            missing = await database.missing_indexes()
    except PyMongoError as error:
        log.warning("not_ready", error=str(error))  # the detail names hosts: logged, not shown
        reason = f"The database did not answer within {READY_TIMEOUT_SECONDS:g} s."
        return 503, {"status": "unavailable", "reason": reason}
    if missing:
        reason = f"Indexes missing: {', '.join(missing)} (restart the server to make them)."
        return 503, {"status": "unavailable", "reason": reason}
    return 200, {"status": "ready"}
