"""What vector store tests share: documents, and waiting for ingestion to finish."""

import asyncio
from typing import Any

from tests.graphql import GraphQLClient

STORE_FIELDS = """id name status usageBytes metadata expiresAt lastActiveAt
  fileCounts { inProgress completed cancelled failed total }"""
FILE_FIELDS = """id vectorStoreId status usageBytes attributes lastError { code message }
  chunkingStrategy { type static { maxChunkSizeTokens chunkOverlapTokens } }"""
CREATE_STORE = f"""mutation($input: CreateVectorStoreInput) {{
  createVectorStore(input: $input) {{ {STORE_FIELDS} }} }}"""
STORE = f"query($id: ID!) {{ vectorStore(id: $id) {{ {STORE_FIELDS} }} }}"
STORE_FILES = f"""query($id: ID!, $status: VectorStoreFileStatus) {{ vectorStore(id: $id) {{
  files(status: $status, first: 100) {{ nodes {{ {FILE_FIELDS} }} }} }} }}"""
SEARCH = """query($id: ID!, $q: String!, $max: Int, $options: RankingOptionsInput,
  $filters: JSON) {
  searchVectorStore(id: $id, query: $q, maxNumResults: $max, rankingOptions: $options,
    filters: $filters) { vectorStoreId fileId filename score content attributes } }"""
ADD_FILES = """mutation($id: ID!, $fileIds: [ID!]!, $attributes: JSON,
  $chunking: ChunkingStrategyInput) {
  addVectorStoreFiles(vectorStoreId: $id, fileIds: $fileIds, attributes: $attributes,
    chunkingStrategy: $chunking) {
    id status vectorStoreId fileCounts { inProgress completed cancelled failed total } } }"""


async def new_store(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    store: dict[str, Any] = (await gql(CREATE_STORE, input=fields))["createVectorStore"]
    return store


async def wait_for_store(gql: GraphQLClient, store_id: str, timeout: float = 60) -> dict[str, Any]:
    """Until no file of the store is still being ingested."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        store: dict[str, Any] = (await gql(STORE, id=store_id))["vectorStore"]
        if store["status"] != "IN_PROGRESS":
            return store
        assert loop.time() < deadline, f"vector store stayed IN_PROGRESS: {store}"
        await asyncio.sleep(0.05)


async def store_files(
    gql: GraphQLClient, store_id: str, status: str | None = None
) -> list[dict[str, Any]]:
    data = await gql(STORE_FILES, id=store_id, status=status)
    nodes: list[dict[str, Any]] = data["vectorStore"]["files"]["nodes"]
    return nodes
