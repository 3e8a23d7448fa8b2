"""The GraphQL executor, with one fix for long-lived subscriptions."""

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class SubscriptionSafeExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core 3.3 memoizes collected subfields by the identity of a list made anew for
    each event, in a dict the per-event executors share with their subscription's executor:
    every event delivered kept ~2 KB alive per subscriber until the subscription ended
    (bench/README.md). Each event gets a memo of its own, dropped with it."""

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor
