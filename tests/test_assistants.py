"""Assistants: create, read, update, delete, over real HTTP against the real database."""

from typing import Any

from tests.graphql import GraphQLClient

FIELDS = """
  id createdAt name description model instructions metadata temperature topP
  tools { type function { name description parameters strict }
          fileSearch { maxNumResults rankingOptions { ranker scoreThreshold } } }
  toolResources { codeInterpreter { fileIds } fileSearch { vectorStoreIds } }
  responseFormat { type jsonSchema { name description schema strict } }
"""
CREATE = (
    f"mutation($input: CreateAssistantInput!) {{ createAssistant(input: $input) {{ {FIELDS} }} }}"
)
UPDATE = f"""mutation($id: ID!, $input: UpdateAssistantInput!) {{
  updateAssistant(id: $id, input: $input) {{ {FIELDS} }} }}"""
READ = f"query($id: ID!) {{ assistant(id: $id) {{ {FIELDS} }} }}"

FULL_INPUT: dict[str, Any] = {
    "model": "threadline/scripted",
    "name": "Math tutor",
    "description": "Helps with sums",
    "instructions": "Be brief.",
    "tools": [
        {"type": "CODE_INTERPRETER"},
        {"type": "FILE_SEARCH", "fileSearch": {"maxNumResults": 5}},
        {
            "type": "FUNCTION",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "strict": True,
            },
        },
    ],
    "metadata": {"team": "math"},
    "temperature": 0.5,
    "topP": 0.9,
    "responseFormat": {
        "type": "JSON_SCHEMA",
        "jsonSchema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    },
}


async def full_input(gql: GraphQLClient) -> dict[str, Any]:
    """FULL_INPUT with a real file of the project as its code interpreter file."""
    file = await gql.upload("data.csv", b"a,b\n1,2\n")
    return {**FULL_INPUT, "toolResources": {"codeInterpreter": {"fileIds": [file["id"]]}}}


async def test_create_round_trips_every_field(gql: GraphQLClient) -> None:
    given = await full_input(gql)
    created = (await gql(CREATE, input=given))["createAssistant"]
    assert created["id"].startswith("asst_")
    assert created["name"] == "Math tutor"
    assert created["tools"][1]["fileSearch"] == {"maxNumResults": 5, "rankingOptions": None}
    assert created["tools"][2]["function"]["parameters"]["properties"]["city"] == {"type": "string"}
    assert created["toolResources"] == {
        "codeInterpreter": given["toolResources"]["codeInterpreter"],
        "fileSearch": None,
    }
    assert created["responseFormat"]["jsonSchema"]["schema"] == {"type": "object"}
    read = (await gql(READ, id=created["id"]))["assistant"]
    assert read == created


async def test_update_changes_only_given_fields_and_null_clears(gql: GraphQLClient) -> None:
    created = (await gql(CREATE, input=await full_input(gql)))["createAssistant"]
    changes: dict[str, Any] = {"name": "Renamed", "description": None, "tools": []}
    updated = (await gql(UPDATE, id=created["id"], input=changes))["updateAssistant"]
    assert updated["name"] == "Renamed"
    assert updated["description"] is None
    assert updated["tools"] == []
    assert updated["instructions"] == "Be brief."
    assert updated["metadata"] == {"team": "math"}
    assert updated["createdAt"] == created["createdAt"]
    assert (await gql(READ, id=created["id"]))["assistant"] == updated


async def test_delete_then_reads_as_null_and_second_delete_is_not_found(gql: GraphQLClient) -> None:
    assistant_id = (await gql(CREATE, input={"model": "threadline/scripted"}))["createAssistant"][
        "id"
    ]
    deleted = await gql(
        "mutation($id: ID!) { deleteAssistant(id: $id) { id deleted } }", id=assistant_id
    )
    assert deleted["deleteAssistant"] == {"id": assistant_id, "deleted": True}
    assert (await gql(READ, id=assistant_id))["assistant"] is None
    error = await gql.error(
        "mutation($id: ID!) { deleteAssistant(id: $id) { id } }", id=assistant_id
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_node_resolves_by_id_prefix(gql: GraphQLClient) -> None:
    assistant_id = (await gql(CREATE, input={"model": "threadline/scripted", "name": "N"}))[
        "createAssistant"
    ]["id"]
    query = "query($id: ID!) { node(id: $id) { __typename id ... on Assistant { name } } }"
    node = (await gql(query, id=assistant_id))["node"]
    assert node == {"__typename": "Assistant", "id": assistant_id, "name": "N"}
    assert (await gql(query, id="msg_unknown"))["node"] is None
    assert (await gql(query, id="nonsense"))["node"] is None
