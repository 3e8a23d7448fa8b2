"""Assistants as GraphQL types and inputs."""

import enum
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from models.assistant import AssistantDocument
from schema.common import Node, json_value
from schema.tool import (
    ResponseFormat,
    ResponseFormatInput,
    Tool,
    ToolInput,
    ToolResources,
    ToolResourcesInput,
)


@strawberry.enum(
    description="How hard a reasoning model thinks before it answers (OpenAI's "
    "`reasoning_effort`); not every model takes every value."
)
class ReasoningEffort(enum.Enum):
    NONE = "none"
    MINIMAL = "minimal"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    XHIGH = "xhigh"
    MAX = "max"

    @classmethod
    def of(cls, value: str | None) -> "ReasoningEffort | None":
        return None if value is None else cls(value)


@strawberry.type
class Assistant(Node):
    created_at: datetime
    name: str | None
    description: str | None
    model: str
    instructions: str | None
    tools: list[Tool]
    tool_resources: ToolResources | None
    metadata: JSON
    temperature: float | None
    top_p: float | None
    response_format: ResponseFormat | None
    reasoning_effort: ReasoningEffort | None

    @classmethod
    def from_document(cls, document: AssistantDocument) -> "Assistant":
        return cls(
            id=strawberry.ID(document.id),
            created_at=document.created_at,
            name=document.name,
            description=document.description,
            model=document.model,
            instructions=document.instructions,
            tools=[Tool.from_model(tool) for tool in document.tools],
            tool_resources=ToolResources.from_model(document.tool_resources),
            metadata=json_value(document.metadata),
            temperature=document.temperature,
            top_p=document.top_p,
            response_format=ResponseFormat.from_model(document.response_format),
            reasoning_effort=ReasoningEffort.of(document.reasoning_effort),
        )


@strawberry.input
class CreateAssistantInput:
    model: str
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    instructions: str | None = strawberry.UNSET
    tools: list[ToolInput] | None = strawberry.UNSET
    tool_resources: ToolResourcesInput | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    temperature: float | None = strawberry.UNSET
    top_p: float | None = strawberry.UNSET
    response_format: ResponseFormatInput | None = strawberry.UNSET
    reasoning_effort: ReasoningEffort | None = strawberry.UNSET


@strawberry.input(description="Fields left out stay as they are; `null` clears a field.")
class UpdateAssistantInput:
    model: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    instructions: str | None = strawberry.UNSET
    tools: list[ToolInput] | None = strawberry.UNSET
    tool_resources: ToolResourcesInput | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    temperature: float | None = strawberry.UNSET
    top_p: float | None = strawberry.UNSET
    response_format: ResponseFormatInput | None = strawberry.UNSET
    reasoning_effort: ReasoningEffort | None = strawberry.UNSET
