"""The default project: created once, even by servers starting at the same time."""

import asyncio

from fastapi import FastAPI

from models.project import DEFAULT_PROJECT_ID, ProjectDocument, ensure_default_project


async def test_servers_starting_together_agree_on_one_default_project(app: FastAPI) -> None:
    assert await ProjectDocument.get(DEFAULT_PROJECT_ID) is not None
    await ProjectDocument.get_pymongo_collection().delete_many({})
    projects = await asyncio.gather(*(ensure_default_project() for _ in range(8)))
    assert {project.id for project in projects} == {DEFAULT_PROJECT_ID}
    assert await ProjectDocument.find_all().count() == 1
    assert projects[0].name == "default"
