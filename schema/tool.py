"""Tools, tool resources and response formats as GraphQL types and inputs."""

import enum

import strawberry
from strawberry.scalars import JSON

from models import tools as m
from schema.common import json_value


@strawberry.enum
class ToolType(enum.Enum):
    CODE_INTERPRETER = "code_interpreter"
    FILE_SEARCH = "file_search"
    FUNCTION = "function"


@strawberry.enum
class FileSearchRanker(enum.Enum):
    AUTO = "auto"
    DEFAULT_2024_08_21 = "default_2024_08_21"


@strawberry.enum
class ResponseFormatType(enum.Enum):
    AUTO = "auto"
    TEXT = "text"
    JSON_OBJECT = "json_object"
    JSON_SCHEMA = "json_schema"


@strawberry.type
class FunctionDefinition:
    name: str
    description: str | None
    parameters: JSON | None
    strict: bool | None


@strawberry.type
class RankingOptions:
    ranker: FileSearchRanker
    score_threshold: float


@strawberry.type
class FileSearchOptions:
    max_num_results: int | None
    ranking_options: RankingOptions | None


@strawberry.type
class Tool:
    type: ToolType
    function: FunctionDefinition | None
    file_search: FileSearchOptions | None

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


@strawberry.type
class CodeInterpreterResources:
    file_ids: list[strawberry.ID]


@strawberry.type
class FileSearchResources:
    vector_store_ids: list[strawberry.ID]


@strawberry.type
class ToolResources:
    code_interpreter: CodeInterpreterResources | None
    file_search: FileSearchResources | None

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


@strawberry.type
class JsonSchemaFormat:
    name: str
    description: str | None
    schema: JSON | None
    strict: bool | None


@strawberry.type
class ResponseFormat:
    type: ResponseFormatType
    json_schema: JsonSchemaFormat | None

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


@strawberry.input
class FunctionDefinitionInput:
    name: str
    description: str | None = strawberry.UNSET
    parameters: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="A JSON Schema object describing the arguments."
    )
    strict: bool | None = strawberry.UNSET


@strawberry.input
class RankingOptionsInput:
    ranker: FileSearchRanker = FileSearchRanker.AUTO
    score_threshold: float = 0.0


@strawberry.input
class FileSearchOptionsInput:
    max_num_results: int | None = strawberry.UNSET
    ranking_options: RankingOptionsInput | None = strawberry.UNSET


@strawberry.input
class ToolInput:
    type: ToolType
    function: FunctionDefinitionInput | None = strawberry.UNSET
    file_search: FileSearchOptionsInput | None = strawberry.UNSET


@strawberry.input
class CodeInterpreterResourcesInput:
    file_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class FileSearchResourcesInput:
    vector_store_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class ToolResourcesInput:
    code_interpreter: CodeInterpreterResourcesInput | None = strawberry.UNSET
    file_search: FileSearchResourcesInput | None = strawberry.UNSET


@strawberry.input
class JsonSchemaFormatInput:
    name: str
    description: str | None = strawberry.UNSET
    schema: JSON | None = strawberry.UNSET
    strict: bool | None = strawberry.UNSET


@strawberry.input
class ResponseFormatInput:
    type: ResponseFormatType
    json_schema: JsonSchemaFormatInput | None = strawberry.UNSET
