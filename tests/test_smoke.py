from tests.graphql import GraphQLClient


async def test_create_and_read_assistant(gql: GraphQLClient) -> None:
    created = await gql(
        'mutation { createAssistant(input: {model: "threadline/scripted", name: "Helper"}) { id } }'
    )
    assistant_id = created["createAssistant"]["id"]
    data = await gql("query($id: ID!) { assistant(id: $id) { id name model } }", id=assistant_id)
    assert data["assistant"] == {"id": assistant_id, "name": "Helper", "model": "threadline/scripted"}
