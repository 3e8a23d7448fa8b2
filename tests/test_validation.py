"""Input limits (OpenAI's): just inside passes, just outside is BAD_USER_INPUT, nothing written."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from models.message import MessageDocument
from models.thread import ThreadDocument
from tests.graphql import GraphQLClient

Json = dict[str, Any]
Snapshot = Callable[[], Awaitable[object]]
SCRIPTED = "threadline/scripted"

CREATE_ASSISTANT = """mutation($input: CreateAssistantInput!) {
  createAssistant(input: $input) { id } }"""
UPDATE_ASSISTANT = """mutation($id: ID!, $input: UpdateAssistantInput!) {
  updateAssistant(id: $id, input: $input) { id } }"""
READ_ASSISTANT = """query($id: ID!) { assistant(id: $id) {
  id name description model instructions metadata temperature topP
  tools { type function { name description parameters strict } fileSearch { maxNumResults } }
  toolResources { codeInterpreter { fileIds } fileSearch { vectorStoreIds } }
  responseFormat { type jsonSchema { name schema strict } } } }"""
ASSISTANT_IDS = "{ assistants(first: 100) { nodes { id } } }"
CREATE_THREAD = "mutation($input: CreateThreadInput) { createThread(input: $input) { id } }"
READ_THREAD = """query($id: ID!) { thread(id: $id) {
  id metadata toolResources { codeInterpreter { fileIds } }
  messages(first: 100) { nodes { id text metadata } } } }"""
CREATE_MESSAGE = """mutation($id: ID!, $input: CreateMessageInput!) {
  createMessage(threadId: $id, input: $input) { id } }"""
READ_MESSAGE = "query($id: ID!) { message(id: $id) { id text metadata content { __typename } } }"


def reads(gql: GraphQLClient, query: str, **variables: Any) -> Snapshot:
    return lambda: gql(query, **variables)


async def counts() -> tuple[int, int]:
    return await ThreadDocument.count(), await MessageDocument.count()


async def assert_rejected(
    gql: GraphQLClient, field: str, snapshot: Snapshot, query: str, **variables: Any
) -> Json:
    """`query` fails with BAD_USER_INPUT naming `field`, and `snapshot` reads the same after."""
    before = await snapshot()
    error = await gql.error(query, **variables)
    assert error.get("extensions", {}).get("code") == "BAD_USER_INPUT", error
    assert field.lower() in error["message"].lower(), error
    assert await snapshot() == before
    return error


async def new_assistant(gql: GraphQLClient, **fields: Any) -> str:
    data = await gql(CREATE_ASSISTANT, input={"model": SCRIPTED, **fields})
    return str(data["createAssistant"]["id"])


async def new_thread(gql: GraphQLClient, **fields: Any) -> str:
    data = await gql(CREATE_THREAD, input=fields)
    return str(data["createThread"]["id"])


# --- metadata, on every mutation that takes it ----------------------------------------------

METADATA_OK = {
    "16-keys": {f"k{i}": "v" for i in range(16)},
    "long-key-and-value": {"k" * 64: "v" * 512},
}
METADATA_BAD = {
    "17-keys": {f"k{i}": "v" for i in range(17)},
    "key-65": {"k" * 65: "v"},
    "value-513": {"k": "v" * 513},
    "number-value": {"k": 5},
    "list": ["a", "b"],
    "string": "a string",
}
METADATA_CALLS = {
    "createAssistant": f'createAssistant(input: {{model: "{SCRIPTED}", metadata: $metadata}})',
    "updateAssistant": "updateAssistant(id: $id, input: {metadata: $metadata})",
    "createThread": "createThread(input: {metadata: $metadata})",
    "updateThread": "updateThread(id: $id, input: {metadata: $metadata})",
    "createMessage": 'createMessage(threadId: $id, input: {content: "hi", metadata: $metadata})',
    "updateMessage": "updateMessage(id: $id, input: {metadata: $metadata})",
}


async def metadata_target(gql: GraphQLClient, mutation: str) -> tuple[str, Json, Snapshot]:
    """The mutation taking `$metadata`, its other variables, and what it must leave unchanged."""
    query = f"mutation($id: ID!, $metadata: JSON) {{ {METADATA_CALLS[mutation]} {{ metadata }} }}"
    if mutation.startswith("create") and mutation != "createMessage":
        query = query.replace("$id: ID!, ", "")
        return query, {}, counts if mutation == "createThread" else reads(gql, ASSISTANT_IDS)
    kept = {"keep": "me"}
    if mutation == "updateAssistant":
        object_id = await new_assistant(gql, metadata=kept)
        return query, {"id": object_id}, reads(gql, READ_ASSISTANT, id=object_id)
    object_id = await new_thread(gql, metadata=kept, messages=[{"content": "hi", "metadata": kept}])
    if mutation == "updateMessage":
        thread = await gql(READ_THREAD, id=object_id)
        object_id = thread["thread"]["messages"]["nodes"][0]["id"]
        return query, {"id": object_id}, reads(gql, READ_MESSAGE, id=object_id)
    return query, {"id": object_id}, reads(gql, READ_THREAD, id=object_id)


@pytest.mark.parametrize("metadata", METADATA_OK.values(), ids=METADATA_OK.keys())
@pytest.mark.parametrize("mutation", METADATA_CALLS)
async def test_metadata_within_limits(gql: GraphQLClient, mutation: str, metadata: Json) -> None:
    query, variables, _ = await metadata_target(gql, mutation)
    data = await gql(query, metadata=metadata, **variables)
    assert data[mutation]["metadata"] == metadata


@pytest.mark.parametrize("metadata", METADATA_BAD.values(), ids=METADATA_BAD.keys())
@pytest.mark.parametrize("mutation", METADATA_CALLS)
async def test_metadata_beyond_limits(gql: GraphQLClient, mutation: str, metadata: object) -> None:
    query, variables, snapshot = await metadata_target(gql, mutation)
    await assert_rejected(gql, "metadata", snapshot, query, metadata=metadata, **variables)


# --- assistants -----------------------------------------------------------------------------


def text(field: str, length: int) -> Json:
    return {field: "x" * length}


def tools(*names: str, **fields: Any) -> Json:
    """FUNCTION tools with these names (and these other function fields)."""
    return {"tools": [{"type": "FUNCTION", "function": {"name": n, **fields}} for n in names]}


def files(count: int) -> Json:
    return {"toolResources": {"codeInterpreter": {"fileIds": [f"file-{i}" for i in range(count)]}}}


def stores(count: int) -> Json:
    return {"toolResources": {"fileSearch": {"vectorStoreIds": [f"vs_{i}" for i in range(count)]}}}


async def real_resources(gql: GraphQLClient, given: Json) -> Json:
    """`given` with its placeholder file and vector store ids made real (ids that name
    nothing are refused as NOT_FOUND before any limit applies)."""
    resources = given.get("toolResources")
    if not resources:
        return given
    code = resources.get("codeInterpreter") or {"fileIds": []}
    search = resources.get("fileSearch") or {"vectorStoreIds": []}
    file_ids = [(await gql.upload(f"{i}.txt", b"x"))["id"] for i in range(len(code["fileIds"]))]
    create = "mutation { createVectorStore { id } }"
    store_ids = [(await gql(create))["createVectorStore"]["id"] for _ in search["vectorStoreIds"]]
    made: Json = {}
    if file_ids:
        made["codeInterpreter"] = {"fileIds": file_ids}
    if store_ids:
        made["fileSearch"] = {"vectorStoreIds": store_ids}
    return {**given, "toolResources": made}


NAMES = [f"f{i}" for i in range(129)]
CODE = {"type": "CODE_INTERPRETER"}
OBJECT_SCHEMA = {"type": "object", "properties": {"x": {"type": "string"}}}
WITH_SCHEMA = tools("f", parameters=OBJECT_SCHEMA)
SCHEMA_FORMAT = {"type": "JSON_SCHEMA", "jsonSchema": {"name": "out", "schema": OBJECT_SCHEMA}}
JSON_SCHEMA = {"responseFormat": SCHEMA_FORMAT}
NO_JSON_SCHEMA = {"responseFormat": {"type": "JSON_SCHEMA"}}
ASSISTANT_CASES = {  # id: (field named in the error, just inside, just outside)
    "name": ("name", text("name", 256), text("name", 257)),
    "description": ("description", text("description", 512), text("description", 513)),
    "instructions": ("instructions", text("instructions", 256_000), text("instructions", 256_001)),
    "tool-count": ("tools", tools(*NAMES[:128]), tools(*NAMES)),
    "fn-name-65": ("name", tools("f" * 64), tools("f" * 65)),
    "fn-name-space": ("name", tools("a_b-C9"), tools("a b")),
    "fn-name-empty": ("name", tools("f"), tools("")),
    "fn-name-duplicate": ("tools", tools("f", "g"), tools("f", "f")),
    "parameters-bad-schema": ("parameters", WITH_SCHEMA, tools("f", parameters={"type": 5})),
    "parameters-list": ("parameters", WITH_SCHEMA, tools("f", parameters=[OBJECT_SCHEMA])),
    "fn-missing": ("function", tools("f"), {"tools": [{"type": "FUNCTION"}]}),
    "fn-on-code": ("function", {"tools": [CODE]}, {"tools": [{**CODE, "function": {"name": "f"}}]}),
    "temperature-high": ("temperature", {"temperature": 2}, {"temperature": 2.01}),
    "temperature-low": ("temperature", {"temperature": 0}, {"temperature": -0.01}),
    "top-p-high": ("topP", {"topP": 1}, {"topP": 1.01}),
    "top-p-low": ("topP", {"topP": 0}, {"topP": -0.01}),
    "model-empty": ("model", {"model": SCRIPTED}, {"model": ""}),
    "code-files": ("fileIds", files(20), files(21)),
    "vector-stores": ("vectorStoreIds", stores(1), stores(2)),
    "json-schema": ("jsonSchema", JSON_SCHEMA, NO_JSON_SCHEMA),
}


@pytest.mark.parametrize("update", [False, True], ids=["create", "update"])
@pytest.mark.parametrize(("field", "ok", "bad"), ASSISTANT_CASES.values(), ids=ASSISTANT_CASES)
async def test_assistant_limits(
    gql: GraphQLClient, field: str, ok: Json, bad: Json, update: bool
) -> None:
    ok = await real_resources(gql, ok)
    if update:
        assistant_id = await new_assistant(gql, name="before", metadata={"keep": "me"})
        await gql(UPDATE_ASSISTANT, id=assistant_id, input=ok)
        snapshot = reads(gql, READ_ASSISTANT, id=assistant_id)
        await assert_rejected(gql, field, snapshot, UPDATE_ASSISTANT, id=assistant_id, input=bad)
    else:
        await new_assistant(gql, **ok)
        snapshot = reads(gql, ASSISTANT_IDS)
        bad = {"model": SCRIPTED, **bad}
        await assert_rejected(gql, field, snapshot, CREATE_ASSISTANT, input=bad)


async def test_update_assistant_model_cannot_be_cleared(gql: GraphQLClient) -> None:
    assistant_id = await new_assistant(gql, name="kept")
    snapshot = reads(gql, READ_ASSISTANT, id=assistant_id)
    await assert_rejected(
        gql, "model", snapshot, UPDATE_ASSISTANT, id=assistant_id, input={"model": None}
    )


# --- messages -------------------------------------------------------------------------------


def parts(*items: Json) -> Json:
    return {"contentParts": list(items)}


def image(url: str) -> Json:
    return {"type": "IMAGE_URL", "imageUrl": {"url": url}}


HI = {"type": "TEXT", "text": "hi"}
MESSAGE_OK = [text("content", 256_000), parts(HI, image("https://x.test/a.png"))]
MESSAGE_BAD = {  # id: (field named in the error, input)
    "both": ("content", {"content": "hi", **parts(HI)}),
    "neither": ("content", {}),
    "empty": ("content", {"content": ""}),
    "too-long": ("content", text("content", 256_001)),
    "image-url-not-http": ("contentParts[0].imageUrl.url", parts(image("ftp://x.test/a.png"))),
    "text-part-without-text": ("contentParts[0].text", parts({"type": "TEXT"})),
}


@pytest.mark.parametrize(("field", "bad"), MESSAGE_BAD.values(), ids=MESSAGE_BAD)
async def test_create_message_limits(gql: GraphQLClient, field: str, bad: Json) -> None:
    thread_id = await new_thread(gql)
    for ok in MESSAGE_OK:
        await gql(CREATE_MESSAGE, id=thread_id, input=ok)
    snapshot = reads(gql, READ_THREAD, id=thread_id)
    await assert_rejected(gql, field, snapshot, CREATE_MESSAGE, id=thread_id, input=bad)


@pytest.mark.parametrize(("field", "bad"), MESSAGE_BAD.values(), ids=MESSAGE_BAD)
async def test_create_thread_with_a_bad_seed_writes_nothing(
    gql: GraphQLClient, field: str, bad: Json
) -> None:
    await new_thread(gql, messages=MESSAGE_OK)
    assert await counts() == (1, 2)
    seeds = [{"content": "one"}, {"content": "two"}, bad]
    error = await assert_rejected(
        gql, "messages[2]", counts, CREATE_THREAD, input={"messages": seeds}
    )
    assert field.lower() in error["message"].lower(), error


# --- pagination -----------------------------------------------------------------------------

PAGE_ARGS = "$first: Int, $last: Int, $after: String, $before: String"
PAGE = "first: $first, last: $last, after: $after, before: $before"
ASSISTANT_PAGE = f"query({PAGE_ARGS}) {{ assistants({PAGE}) {{ nodes {{ id }} }} }}"
FAR_FUTURE_CURSOR = "OTk5OTk5OTk5OTk5OTk5OTk5OTk6YXNzdF94"  # "99999999999999999999:asst_x"
MESSAGE_PAGE = f"""query($id: ID!, {PAGE_ARGS}) {{
  thread(id: $id) {{ messages({PAGE}) {{ nodes {{ id }} }} }} }}"""


async def page_query(gql: GraphQLClient, connection: str) -> tuple[str, Json]:
    if connection == "assistants":
        await new_assistant(gql)
        return ASSISTANT_PAGE, {}
    return MESSAGE_PAGE, {"id": await new_thread(gql, messages=[{"content": "hi"}])}


@pytest.mark.parametrize("args", [{"first": 1}, {"first": 100}, {"last": 1}, {"last": 100}])
@pytest.mark.parametrize("connection", ["assistants", "messages"])
async def test_page_sizes_within_limits(gql: GraphQLClient, connection: str, args: Json) -> None:
    query, variables = await page_query(gql, connection)
    assert await gql(query, **variables, **args)


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("first", {"first": 0}),
        ("first", {"first": 101}),
        ("last", {"last": 0}),
        ("last", {"last": 101}),
        ("first", {"first": 10, "last": 10}),
        ("cursor", {"after": "nonsense!!"}),
        ("cursor", {"before": "nonsense!!"}),
        ("cursor", {"after": FAR_FUTURE_CURSOR}),
    ],
)
@pytest.mark.parametrize("connection", ["assistants", "messages"])
async def test_page_arguments_beyond_limits(
    gql: GraphQLClient, connection: str, field: str, args: Json
) -> None:
    query, variables = await page_query(gql, connection)
    error = await gql.error(query, **variables, **args)
    assert error.get("extensions", {}).get("code") == "BAD_USER_INPUT", error
    assert field in error["message"], error


# --- GraphQL-level mistakes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param("{ assistants(first: 1 { nodes { id } } }", {}, id="syntax"),
        pytest.param("{ assistants { nodes { nope } } }", {}, id="unknown-field"),
        pytest.param("{ assistants(nope: 1) { nodes { id } } }", {}, id="unknown-argument"),
        pytest.param(ASSISTANT_PAGE, {"first": "ten"}, id="wrong-variable-type"),
        pytest.param("query($id: ID!) { assistant(id: $id) { id } }", {}, id="missing-variable"),
    ],
)
async def test_graphql_mistakes_are_bad_user_input(
    gql: GraphQLClient, query: str, variables: Json
) -> None:
    body = await gql.execute(query, **variables)
    codes = {error.get("extensions", {}).get("code") for error in body.get("errors", [])}
    assert codes == {"BAD_USER_INPUT"}, body


# --- unknown and malformed ids --------------------------------------------------------------

MALFORMED_IDS = ["asst_doesnotexist", "thread_x", "msg_x", "", "x" * 10_000, "asst_" + "x" * 9_999]


@pytest.mark.parametrize("object_id", MALFORMED_IDS, ids=lambda i: i[:20] or "empty")
async def test_unknown_ids_read_as_null(gql: GraphQLClient, object_id: str) -> None:
    await new_assistant(gql)
    query = """query($id: ID!) { assistant(id: $id) { id } thread(id: $id) { id }
      message(id: $id) { id } node(id: $id) { id } }"""
    data = await gql(query, id=object_id)
    assert data == {"assistant": None, "thread": None, "message": None, "node": None}


NOT_FOUND_MUTATIONS = [  # (id prefix, mutation with `$id`)
    ("asst_", 'updateAssistant(id: $id, input: {name: "x"}) { id }'),
    ("asst_", "deleteAssistant(id: $id) { id }"),
    ("thread_", "updateThread(id: $id, input: {metadata: {}}) { id }"),
    ("thread_", "deleteThread(id: $id) { id }"),
    ("msg_", "updateMessage(id: $id, input: {metadata: {}}) { id }"),
    ("msg_", "deleteMessage(id: $id) { id }"),
    ("thread_", 'createMessage(threadId: $id, input: {content: "hi"}) { id }'),
]


@pytest.mark.parametrize("suffix", ["doesnotexist", "x" * 10_000], ids=["unknown", "10k"])
@pytest.mark.parametrize(
    ("prefix", "mutation"),
    NOT_FOUND_MUTATIONS,
    ids=[m.split("(")[0] for _, m in NOT_FOUND_MUTATIONS],
)
async def test_unknown_ids_are_not_found(
    gql: GraphQLClient, prefix: str, mutation: str, suffix: str
) -> None:
    await new_thread(gql, messages=[{"content": "hi"}])
    for object_id in (prefix + suffix, "nope"):
        error = await gql.error(f"mutation($id: ID!) {{ {mutation} }}", id=object_id)
        assert error.get("extensions", {}).get("code") == "NOT_FOUND", error
    assert await counts() == (1, 1)
