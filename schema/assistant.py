"""Assistants as GraphQL types and inputs."""

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
