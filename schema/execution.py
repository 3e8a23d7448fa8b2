"""The GraphQL executor: one fix for long-lived subscriptions, and one execution of each event
for all the subscribers that would get the same answer."""

import asyncio
import json
from collections import Counter
from inspect import isawaitable
from typing import Any

from cachetools import LRUCache
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    visit,
)
from graphql.language import Visitor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.live import CURRENT
from app.recent import Recent

# An event's answers, shared while its subscribers take them (a slow one computes its own).
SHARED_ANSWERS: Recent[tuple[Any, ...], Any] = Recent(size=4096, seconds=10)
_OWN_VARIABLES: LRUCache[int, tuple[OperationDefinitionNode, frozenset[str]]] = LRUCache(256)


class SubscriptionSafeExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core 3.3 memoizes collected subfields by the identity of a list made anew for
    each event, in a dict the per-event executors share with their subscription's executor:
    every event delivered kept ~2 KB alive per subscriber until the subscription ended
    (bench/README.md). Each event gets a memo of its own, dropped with it.

    A thousand subscribers to one thread with one document would execute it a thousand
    times per event: the first executes it, and the others with the same answer (the same
    event, document, variables below the subscription field, and view of the project) take
    that execution's result."""

    _shared_as: tuple[Any, ...] | None = None

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        executor = super().build(*args, **kwargs)
        live = CURRENT.get()
        subscribes = isinstance(executor, SubscriptionSafeExecutor) and (
            executor.operation.operation is OperationType.SUBSCRIPTION
        )
        if live is not None and subscribes:
            live.executor = executor  # its events can be executed and sent (app/live.py)
        return executor

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        if isinstance(executor, SubscriptionSafeExecutor):
            executor._shared_as = self._answer_key(payload)
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = self._shared_as
        if key is None:
            return super().execute_operation(serially)
        shared = SHARED_ANSWERS.get(key)
        if shared is None:
            shared = super().execute_operation(serially)
            if isawaitable(shared):
                shared = asyncio.ensure_future(shared)
            SHARED_ANSWERS.put(key, shared)
        return _shielded(shared)

    def answer(self, payload: Any) -> Any:
        """An event's answer (for app/live.py): the shared one, once made, without building
        an executor for it (that copy is a tenth of a subscriber's cost)."""
        key = self._answer_key(payload)
        shared = None if key is None else SHARED_ANSWERS.get(key)
        if shared is None:
            return self.build_per_event_executor(payload).execute_operation(False)
        return _shielded(shared)

    _subscription_key: tuple[Any, ...] | None = None

    def _answer_key(self, payload: Any) -> tuple[Any, ...] | None:
        """What decides an event's answer; None for a payload that is not an event."""
        thread_id = getattr(payload, "thread_id", None)
        sequence = getattr(payload, "sequence", None)
        principal = getattr(self.context_value, "principal", None)
        if thread_id is None or sequence is None or principal is None:
            return None
        if self._subscription_key is None:  # the same for every event of this subscription
            fragments = [details.definition for details in self.fragments.values()]
            used = _variables_below_root(self.operation, fragments)
            given = self.variable_values.coerced
            variables = {name: given.get(name) for name in sorted(used)}
            self._subscription_key = (
                id(self.operation),  # kept alive by _OWN_VARIABLES while it is a key here
                json.dumps(variables, sort_keys=True, default=str),
                principal.project_id,
                principal.subject,
                principal.assistant_ids,
                getattr(self.context_value, "base_url", None),  # file links name the host
            )
        return (thread_id, sequence, *self._subscription_key)


def _shielded(shared: Any) -> Any:
    """Each waits through a shield: a subscriber that leaves (its task cancelled) must not
    cancel the execution the others wait for."""
    return asyncio.shield(shared) if isinstance(shared, asyncio.Future) else shared


def _variables_below_root(
    operation: OperationDefinitionNode, fragments: list[FragmentDefinitionNode]
) -> frozenset[str]:
    """The variables an event's answer depends on: all but those only the subscription field's
    own arguments use (`afterSequence`: where each subscriber started)."""
    known = _OWN_VARIABLES.get(id(operation))
    if known is not None and known[0] is operation:
        return known[1]
    everywhere = _variable_uses(operation.selection_set)
    for fragment in fragments:
        everywhere += _variable_uses(fragment.selection_set)
    in_root_arguments: Counter[str] = Counter()
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            for argument in selection.arguments or ():
                in_root_arguments += _variable_uses(argument)
    used = frozenset(name for name, count in everywhere.items() if count > in_root_arguments[name])
    _OWN_VARIABLES[id(operation)] = (operation, used)
    return used


def _variable_uses(node: Any) -> Counter[str]:
    uses: Counter[str] = Counter()

    class Uses(Visitor):
        def enter_variable(self, variable: VariableNode, *_: Any) -> None:
            uses[variable.name.value] += 1

    visit(node, Uses())
    return uses
