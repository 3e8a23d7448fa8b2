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
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    NONE = strawberry.enum_value("none", description="No reasoning (OpenAI: `none`).")
    MINIMAL = strawberry.enum_value(
        "minimal", description="Very little reasoning (OpenAI: `minimal`)."
    )
    LOW = strawberry.enum_value("low", description="Little reasoning (OpenAI: `low`).")
    MEDIUM = strawberry.enum_value("medium", description="Moderate reasoning (OpenAI: `medium`).")
    HIGH = strawberry.enum_value("high", description="Much reasoning (OpenAI: `high`).")
    XHIGH = strawberry.enum_value("xhigh", description="More than HIGH (OpenAI: `xhigh`).")
    MAX = strawberry.enum_value("max", description="As much as the model does (OpenAI: `max`).")

    @classmethod
    def of(cls, value: str | None) -> "ReasoningEffort | None":
        return None if value is None else cls(value)


@strawberry.type(
    description="A model with instructions and tools that runs on threads (OpenAI: the "
    "`assistant` object)."
)
class Assistant(Node):
    created_at: datetime = strawberry.field(
        description="When it was created (OpenAI: `assistant.created_at`)."
    )
    name: str | None = strawberry.field(
        description="Its name, at most 256 characters (OpenAI: `assistant.name`)."
    )
    description: str | None = strawberry.field(
        description="What it is for, at most 512 characters (OpenAI: `assistant.description`)."
    )
    model: str = strawberry.field(
        description="The model it runs by default (OpenAI: `assistant.model`)."
    )
    instructions: str | None = strawberry.field(
        description="Its system instructions, at most 256,000 characters (OpenAI: "
        "`assistant.instructions`)."
    )
    tools: list[Tool] = strawberry.field(
        description="The tools it may call, at most 128 (OpenAI: `assistant.tools`)."
    )
    tool_resources: ToolResources | None = strawberry.field(
        description="The files and vector stores its tools use (OpenAI: "
        "`assistant.tool_resources`)."
    )
    metadata: JSON = strawberry.field(
        description="Your key-value strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `assistant.metadata`)."
    )
    temperature: float | None = strawberry.field(
        description="Sampling temperature, 0 to 2; null: the model's default (OpenAI: "
        "`assistant.temperature`)."
    )
    top_p: float | None = strawberry.field(
        description="Nucleus sampling mass, 0 to 1; null: the model's default (OpenAI: "
        "`assistant.top_p`)."
    )
    response_format: ResponseFormat | None = strawberry.field(
        description="The form of its answers; null: AUTO (OpenAI: `assistant.response_format`)."
    )
    reasoning_effort: ReasoningEffort | None = strawberry.field(
        description="How hard a reasoning model thinks; null: the model's default (OpenAI: "
        "`assistant.reasoning_effort`)."
    )

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


@strawberry.input(description="A new assistant (OpenAI: `POST /assistants`'s body).")
class CreateAssistantInput:
    model: str = strawberry.field(
        description="The model to run: `threadline/scripted` or one the configured endpoints "
        "serve; at most 256 characters (OpenAI: `model`)."
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 256 characters (OpenAI: `name`)."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 512 characters (OpenAI: `description`)."
    )
    instructions: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The system instructions, at most 256,000 characters (OpenAI: `instructions`).",
    )
    tools: list[ToolInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="At most 128 tools; function names unique (OpenAI: `tools`).",
    )
    tool_resources: ToolResourcesInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Files for code interpreter, a vector store for file search (OpenAI: "
        "`tool_resources`).",
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A JSON object of strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `metadata`).",
    )
    temperature: float | None = strawberry.field(
        default=strawberry.UNSET, description="0 to 2 (OpenAI: `temperature`)."
    )
    top_p: float | None = strawberry.field(
        default=strawberry.UNSET, description="0 to 1 (OpenAI: `top_p`)."
    )
    response_format: ResponseFormatInput | None = strawberry.field(
        default=strawberry.UNSET, description="The form of answers (OpenAI: `response_format`)."
    )
    reasoning_effort: ReasoningEffort | None = strawberry.field(
        default=strawberry.UNSET, description="For reasoning models (OpenAI: `reasoning_effort`)."
    )


@strawberry.input(description="Fields left out stay as they are; `null` clears a field.")
class UpdateAssistantInput:
    model: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The model to run: one the server serves (OpenAI: `model`).",
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 256 characters (OpenAI: `name`)."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 512 characters (OpenAI: `description`)."
    )
    instructions: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The system instructions, at most 256,000 characters (OpenAI: `instructions`).",
    )
    tools: list[ToolInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="At most 128 tools; function names unique (OpenAI: `tools`).",
    )
    tool_resources: ToolResourcesInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Files for code interpreter, a vector store for file search (OpenAI: "
        "`tool_resources`).",
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A JSON object of strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `metadata`).",
    )
    temperature: float | None = strawberry.field(
        default=strawberry.UNSET, description="0 to 2 (OpenAI: `temperature`)."
    )
    top_p: float | None = strawberry.field(
        default=strawberry.UNSET, description="0 to 1 (OpenAI: `top_p`)."
    )
    response_format: ResponseFormatInput | None = strawberry.field(
        default=strawberry.UNSET, description="The form of answers (OpenAI: `response_format`)."
    )
    reasoning_effort: ReasoningEffort | None = strawberry.field(
        default=strawberry.UNSET, description="For reasoning models (OpenAI: `reasoning_effort`)."
    )
