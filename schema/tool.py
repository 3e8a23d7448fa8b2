"""Tools, tool resources and response formats as GraphQL types and inputs."""

import enum

import strawberry
from strawberry.scalars import JSON

from models import tools as m
from schema.common import json_value


@strawberry.enum(description="A kind of tool (OpenAI: `tool.type`).")
class ToolType(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    CODE_INTERPRETER = strawberry.enum_value(
        "code_interpreter",
        description="Runs Python code in a sandbox (OpenAI: `code_interpreter`).",
    )
    FILE_SEARCH = strawberry.enum_value(
        "file_search",
        description="Searches the vector store in the tool resources (OpenAI: `file_search`).",
    )
    FUNCTION = strawberry.enum_value(
        "function",
        description="A function of yours: the run waits for its output (OpenAI: `function`).",
    )


@strawberry.enum(description="How file search ranks chunks (OpenAI: `ranking_options.ranker`).")
class FileSearchRanker(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    AUTO = strawberry.enum_value(
        "auto", description="The server's choice of ranker (OpenAI: `auto`)."
    )
    DEFAULT_2024_08_21 = strawberry.enum_value(
        "default_2024_08_21", description="The ranker of 2024-08-21 (OpenAI: `default_2024_08_21`)."
    )


@strawberry.enum(description="The form of a model's answers (OpenAI: `response_format.type`).")
class ResponseFormatType(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    AUTO = strawberry.enum_value("auto", description="The model's default (OpenAI: `auto`).")
    TEXT = strawberry.enum_value("text", description="Plain text (OpenAI: `text`).")
    JSON_OBJECT = strawberry.enum_value(
        "json_object", description="Any valid JSON object (OpenAI: `json_object`)."
    )
    JSON_SCHEMA = strawberry.enum_value(
        "json_schema", description="JSON that follows `jsonSchema` (OpenAI: `json_schema`)."
    )


@strawberry.type(description="A function the model may call (OpenAI: `tool.function`).")
class FunctionDefinition:
    name: str = strawberry.field(
        description="The function's name: letters, digits, `_` and `-`, at most 64."
    )
    description: str | None = strawberry.field(
        description="What it does, for the model to decide when to call it."
    )
    parameters: JSON | None = strawberry.field(
        description="A JSON Schema object describing the arguments."
    )
    strict: bool | None = strawberry.field(
        description="Whether calls must follow `parameters` exactly (OpenAI: `strict`)."
    )


@strawberry.type(description="How file search ranks (OpenAI: `ranking_options`).")
class RankingOptions:
    ranker: FileSearchRanker = strawberry.field(description="The ranker used.")
    score_threshold: float = strawberry.field(
        description="Chunks scoring below this (0 to 1) are left out."
    )


@strawberry.type(description="File search's settings (OpenAI: `tool.file_search`).")
class FileSearchOptions:
    max_num_results: int | None = strawberry.field(
        description="At most this many chunks per search (1 to 50); null: the default, 10."
    )
    ranking_options: RankingOptions | None = strawberry.field(
        description="How chunks are ranked; null: the defaults."
    )


@strawberry.type(description="A tool the model may call (OpenAI: an item of `tools`).")
class Tool:
    type: ToolType = strawberry.field(description="The kind of tool (OpenAI: `type`).")
    function: FunctionDefinition | None = strawberry.field(
        description="The function, for FUNCTION tools only (OpenAI: `function`)."
    )
    file_search: FileSearchOptions | None = strawberry.field(
        description="Settings of a FILE_SEARCH tool, if given (OpenAI: `file_search`)."
    )

    @classmethod
    def from_model(cls, tool: m.Tool) -> "Tool":
        options = tool.file_search
        ranking = options.ranking_options if options else None
        return cls(
            type=ToolType(tool.type),
            function=FunctionDefinition(**tool.function.model_dump()) if tool.function else None,
            file_search=FileSearchOptions(
                max_num_results=options.max_num_results,
                ranking_options=RankingOptions(
                    ranker=FileSearchRanker(ranking.ranker),
                    score_threshold=ranking.score_threshold,
                )
                if ranking
                else None,
            )
            if options
            else None,
        )


@strawberry.type(
    description="Files code interpreter can read (OpenAI: `tool_resources.code_interpreter`)."
)
class CodeInterpreterResources:
    file_ids: list[strawberry.ID] = strawberry.field(
        description="The files' ids, at most 20 (OpenAI: `file_ids`)."
    )


@strawberry.type(
    description="The vector store file search reads (OpenAI: `tool_resources.file_search`)."
)
class FileSearchResources:
    vector_store_ids: list[strawberry.ID] = strawberry.field(
        description="The store's id: at most one (OpenAI: `vector_store_ids`)."
    )


@strawberry.type(description="What the tools work on (OpenAI: `tool_resources`).")
class ToolResources:
    code_interpreter: CodeInterpreterResources | None = strawberry.field(
        description="Code interpreter's files, if any (OpenAI: `code_interpreter`)."
    )
    file_search: FileSearchResources | None = strawberry.field(
        description="File search's vector store, if any (OpenAI: `file_search`)."
    )

    @classmethod
    def from_model(cls, resources: m.ToolResources | None) -> "ToolResources | None":
        if resources is None:
            return None
        code, search = resources.code_interpreter, resources.file_search
        return cls(
            code_interpreter=CodeInterpreterResources(
                file_ids=list(map(strawberry.ID, code.file_ids))
            )
            if code
            else None,
            file_search=FileSearchResources(
                vector_store_ids=list(map(strawberry.ID, search.vector_store_ids))
            )
            if search
            else None,
        )


@strawberry.type(description="The schema answers follow (OpenAI: `response_format.json_schema`).")
class JsonSchemaFormat:
    name: str = strawberry.field(
        description="The format's name: letters, digits, `_` and `-`, at most 64."
    )
    description: str | None = strawberry.field(description="What the format is for, for the model.")
    schema: JSON | None = strawberry.field(description="The JSON Schema object answers follow.")
    strict: bool | None = strawberry.field(
        description="Whether answers must follow the schema exactly (OpenAI: `strict`)."
    )


@strawberry.type(description="The form of a model's answers (OpenAI: `response_format`).")
class ResponseFormat:
    type: ResponseFormatType = strawberry.field(description="The kind of format.")
    json_schema: JsonSchemaFormat | None = strawberry.field(
        description="The schema, for JSON_SCHEMA only (OpenAI: `json_schema`)."
    )

    @classmethod
    def from_model(cls, response_format: m.ResponseFormat | None) -> "ResponseFormat | None":
        if response_format is None:
            return None
        spec = response_format.json_schema
        return cls(
            type=ResponseFormatType(response_format.type),
            json_schema=JsonSchemaFormat(
                name=spec.name,
                description=spec.description,
                schema=json_value(spec.schema_),
                strict=spec.strict,
            )
            if spec
            else None,
        )


@strawberry.input(description="A function the model may call (OpenAI: `tool.function`).")
class FunctionDefinitionInput:
    name: str = strawberry.field(
        description="Letters, digits, `_` and `-`, 1 to 64; unique among the tools."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="What it does, for the model to decide when to call it (at most 1,024 "
        "characters).",
    )
    parameters: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="A JSON Schema object describing the arguments."
    )
    strict: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Whether calls must follow `parameters` exactly (OpenAI: `strict`).",
    )


@strawberry.input(description="How file search ranks (OpenAI: `ranking_options`).")
class RankingOptionsInput:
    ranker: FileSearchRanker = strawberry.field(
        default=FileSearchRanker.AUTO, description="The ranker to use."
    )
    score_threshold: float = strawberry.field(
        default=0.0, description="Leave out chunks scoring below this (0 to 1)."
    )


@strawberry.input(description="File search's settings (OpenAI: `tool.file_search`).")
class FileSearchOptionsInput:
    max_num_results: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="At most this many chunks per search, 1 to 50 (default 10).",
    )
    ranking_options: RankingOptionsInput | None = strawberry.field(
        default=strawberry.UNSET, description="How chunks are ranked."
    )


@strawberry.input(description="A tool the model may call (OpenAI: an item of `tools`).")
class ToolInput:
    type: ToolType = strawberry.field(description="The kind of tool (OpenAI: `type`).")
    function: FunctionDefinitionInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required for, and only for, FUNCTION tools (OpenAI: `function`).",
    )
    file_search: FileSearchOptionsInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Settings for FILE_SEARCH tools only (OpenAI: `file_search`).",
    )


@strawberry.input(
    description="Files code interpreter can read (OpenAI: `tool_resources.code_interpreter`)."
)
class CodeInterpreterResourcesInput:
    file_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="At most 20 file ids (OpenAI: `file_ids`)."
    )


@strawberry.input(
    description="The vector store file search reads (OpenAI: `tool_resources.file_search`)."
)
class FileSearchResourcesInput:
    vector_store_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="At most one vector store id (OpenAI: `vector_store_ids`).",
    )


@strawberry.input(description="What the tools work on (OpenAI: `tool_resources`).")
class ToolResourcesInput:
    code_interpreter: CodeInterpreterResourcesInput | None = strawberry.field(
        default=strawberry.UNSET, description="Code interpreter's files."
    )
    file_search: FileSearchResourcesInput | None = strawberry.field(
        default=strawberry.UNSET, description="File search's vector store."
    )


@strawberry.input(description="The schema answers follow (OpenAI: `response_format.json_schema`).")
class JsonSchemaFormatInput:
    name: str = strawberry.field(description="Letters, digits, `_` and `-`, 1 to 64.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="What the format is for, for the model."
    )
    schema: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="A JSON Schema object answers must follow."
    )
    strict: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Whether answers must follow the schema exactly (OpenAI: `strict`).",
    )


@strawberry.input(description="The form of a model's answers (OpenAI: `response_format`).")
class ResponseFormatInput:
    type: ResponseFormatType = strawberry.field(description="The kind of format.")
    json_schema: JsonSchemaFormatInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required for, and only for, JSON_SCHEMA (OpenAI: `json_schema`).",
    )
