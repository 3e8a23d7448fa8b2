"""The one state machine: illegal transitions are refused before anything is written, and
guarded writes refuse a stale status or fence."""

import pytest

from engine import state
from models.event import EventDocument
from models.run import TERMINAL_STATUSES, RunDocument, all_statuses
from models.run_changes import RunChanged
from tests.graphql import GraphQLClient
from tests.runs import new_assistant, start_run, wait_for

ALL = all_statuses()


@pytest.mark.parametrize("current", sorted(TERMINAL_STATUSES))
@pytest.mark.parametrize("to", ALL)
def test_nothing_leaves_a_terminal_status(current: str, to: str) -> None:
    run = RunDocument.model_construct(id="run_x", status=current)
    with pytest.raises(state.IllegalTransition):
        state.check_transition(run, to)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "to"),
    [
        ("queued", "completed"),
        ("queued", "requires_action"),
        ("in_progress", "queued"),
        ("in_progress", "cancelled"),
        ("requires_action", "completed"),
        ("cancelling", "completed"),
        ("queued", "incomplete"),
        ("requires_action", "in_progress"),
    ],
)
def test_skipping_steps_is_illegal(current: str, to: str) -> None:
    run = RunDocument.model_construct(id="run_x", status=current)
    with pytest.raises(state.IllegalTransition):
        state.check_transition(run, to)  # type: ignore[arg-type]


async def completed_run(gql: GraphQLClient) -> RunDocument:
    run = await start_run(gql, await new_assistant(gql), "hi")
    await wait_for(gql, run["id"])
    stored = await RunDocument.get(run["id"])
    assert stored is not None
    return stored


async def test_an_illegal_move_writes_nothing(gql: GraphQLClient) -> None:
    run = await completed_run(gql)
    before = await EventDocument.find({"run_id": run.id}).count()
    with pytest.raises(state.IllegalTransition):
        await state.move(run, "in_progress")
    assert (await RunDocument.get(run.id)).status == "completed"  # type: ignore[union-attr]
    assert await EventDocument.find({"run_id": run.id}).count() == before


async def test_a_stale_status_is_refused(gql: GraphQLClient) -> None:
    run = await completed_run(gql)
    stale = run.model_copy(update={"status": "in_progress"})
    with pytest.raises(RunChanged):
        await state.move(stale, "completed")
    assert (await RunDocument.get(run.id)).revision == run.revision  # type: ignore[union-attr]


async def test_a_stale_fence_is_refused(gql: GraphQLClient) -> None:
    run = await completed_run(gql)
    with pytest.raises(RunChanged):
        await state.record(run, fence=run.fence - 1, fields={"metadata": {"late": "write"}})
    assert (await RunDocument.get(run.id)).metadata == {}  # type: ignore[union-attr]
