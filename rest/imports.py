"""`POST /v1/admin/import?project_id=proj_…`: a team's OpenAI data into a project, with the
original ids and `created_at` (the rules: services/imports.py). Admin key only.

The body: `{"assistants": …, "threads": …, "messages": …}` (any may be left out), each what
OpenAI's API returned, pasted in as it is: a list response (`{"object": "list", "data": […]}`
from `GET /v1/assistants` or `/v1/threads/{id}/messages`), a single object (`GET
/v1/threads/{id}`), or a list of either. Messages carry their `thread_id`. The project is the
`project_id` query parameter.
"""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from rest.caller import Admin, Svc
from rest.requests import body
from services.imports import KINDS, ImportData, ImportReport

router = APIRouter(tags=["admin"])


@router.post("/admin/import")
async def import_openai(
    request: Request,
    admin: Admin,
    svc: Svc,
    project_id: Annotated[str, Query(description="The project to import into: `proj_…`.")],
) -> dict[str, Any]:
    given = ImportData.of({key: unwrapped(value) for key, value in (await body(request)).items()})
    return shape(await svc.imports.run(project_id, given))


def unwrapped(value: Any) -> Any:
    """One kind's objects as one list: a list response counts as its `data`, a single object
    (`GET /v1/threads/{id}`) as itself, and a list of list responses (one per thread's
    messages) as all their objects."""
    objects = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and item.get("object") == "list" and "data" in item:
            data = item["data"]
            objects += data if isinstance(data, list) else [data]
        else:
            objects.append(item)
    return objects


def shape(report: ImportReport) -> dict[str, Any]:
    return {
        "object": "import",
        "project_id": report.project_id,
        **{kind: asdict(report.counts[kind]) for kind in KINDS},
        "refused": [asdict(refusal) for refusal in report.refused],
        "dropped": [asdict(drop) for drop in report.dropped],
        "ignored_fields": report.ignored_fields,
    }
