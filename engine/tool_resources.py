"""A run's tool resources: what its assistant and its thread give the built-in tools."""

from models.assistant import assistants
from models.run import RunDocument
from models.thread import threads
from models.tools import ToolResources


async def of_run(run: RunDocument) -> list[ToolResources]:
    """The assistant's, then the thread's (either may have none)."""
    found = []
    for owner in (
        await assistants.find(run.project_id, run.assistant_id),
        await threads.find(run.project_id, run.thread_id),
    ):
        if owner is not None and owner.tool_resources is not None:
            found.append(owner.tool_resources)
    return found
