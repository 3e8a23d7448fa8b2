"""Files: multipart uploads over HTTP into GridFS, downloads, listing, deletion, limits."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from models.base import utcnow
from models.file import FileDocument
from tests.conftest import client
from tests.graphql import GraphQLClient, ProjectClient, bearer

FILE_FIELDS = "id bytes filename purpose status contentType downloadUrl"


async def download(http: httpx.AsyncClient, file: dict[str, Any]) -> httpx.Response:
    return await http.get(file["downloadUrl"])


async def test_upload_then_download_the_same_bytes(gql: GraphQLClient) -> None:
    content = b"Notes on GridFS\n" * 100_000  # 1.6 MB: several GridFS chunks
    file = await gql.upload("notes.md", content)
    assert file["id"].startswith("file-")
    assert file["bytes"] == len(content)
    assert (file["filename"], file["purpose"], file["status"]) == (
        "notes.md",
        "ASSISTANTS",
        "PROCESSED",
    )
    assert file["downloadUrl"].endswith(f"/files/{file['id']}/content")
    response = await download(gql.http, file)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''notes.md"
    assert response.headers["x-content-type-options"] == "nosniff"
    read = await gql(f"query($id: ID!) {{ file(id: $id) {{ {FILE_FIELDS} }} }}", id=file["id"])
    assert read["file"] == {key: file[key] for key in read["file"]}


async def test_files_list_filters_by_purpose_and_pages(gql: GraphQLClient) -> None:
    made = [await gql.upload(f"f{index}.txt", b"text", "ASSISTANTS") for index in range(3)]
    image = await gql.upload("pixel.png", b"\x89PNG\r\n\x1a\n", "VISION")
    everything = await gql("{ files(first: 10) { nodes { id } } }")
    assert [node["id"] for node in everything["files"]["nodes"]] == [
        image["id"],
        *[file["id"] for file in reversed(made)],
    ]
    vision = await gql("{ files(purpose: VISION) { nodes { id } } }")
    assert [node["id"] for node in vision["files"]["nodes"]] == [image["id"]]
    page = await gql("{ files(first: 2, order: ASC) { nodes { id } pageInfo { hasNextPage } } }")
    assert [node["id"] for node in page["files"]["nodes"]] == [f["id"] for f in made[:2]]
    assert page["files"]["pageInfo"]["hasNextPage"] is True


async def test_delete_file_removes_record_and_bytes(app: FastAPI, gql: GraphQLClient) -> None:
    file = await gql.upload("gone.txt", b"bye")
    deleted = await gql("mutation($id: ID!) { deleteFile(id: $id) { id deleted } }", id=file["id"])
    assert deleted["deleteFile"] == {"id": file["id"], "deleted": True}
    assert (await gql("query($id: ID!) { file(id: $id) { id } }", id=file["id"]))["file"] is None
    assert (await download(gql.http, file)).status_code == 404
    database = FileDocument.get_pymongo_collection().database
    assert await database["file_bytes.chunks"].count_documents({"files_id": file["id"]}) == 0
    again = await gql.error("mutation($id: ID!) { deleteFile(id: $id) { id } }", id=file["id"])
    assert again["extensions"]["code"] == "NOT_FOUND"


async def test_too_large_is_refused_and_nothing_is_stored(
    app: FastAPI, dev_key: str, gql: GraphQLClient
) -> None:
    from tests.apps import app_with

    async with app_with(app, dev_key, max_file_bytes=1000) as limited:
        fits = await limited.upload("fits.txt", b"x" * 1000)
        body = (await limited.upload_response("big.txt", b"x" * 1001)).json()
        # Past the limit by more than a multipart form's overhead: refused before parsing.
        huge = await limited.upload_response("huge.txt", b"x" * (2 * 1024 * 1024))
    assert fits["bytes"] == 1000
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "THREADLINE_MAX_FILE_BYTES" in body["errors"][0]["message"]
    assert huge.status_code == 413
    assert huge.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    database = FileDocument.get_pymongo_collection().database
    assert await FileDocument.find_all().count() == 1
    assert await database["file_bytes.files"].count_documents({}) == 1
    assert (
        await database["file_bytes.chunks"].count_documents({"files_id": {"$ne": fits["id"]}}) == 0
    )


async def test_upload_needs_the_preflight_header(gql: GraphQLClient) -> None:
    response = await gql.upload_response("csrf.txt", b"from another site", headers={})
    assert response.status_code == 400
    assert "Apollo-Require-Preflight" in response.json()["errors"][0]["message"]
    assert await FileDocument.find_all().count() == 0


async def test_upload_input_is_checked(gql: GraphQLClient) -> None:
    async def refused(*args: Any, **variables: Any) -> str:
        body = (await gql.upload_response(*args, **variables)).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        message: str = body["errors"][0]["message"]
        return message

    assert "VISION" in await refused("notes.txt", b"text", "VISION")
    assert "ASSISTANTS_OUTPUT" not in await refused("out.txt", b"text", "ASSISTANTS_OUTPUT")
    assert "expiresAfter" in await refused("x.txt", b"t", expiresAfter={"seconds": 5})
    assert "FilePurpose" in await refused("x.txt", b"t", "NOPE")
    assert await FileDocument.find_all().count() == 0


async def test_an_expired_file_is_gone(gql: GraphQLClient) -> None:
    file = await gql.upload("temp.txt", b"t", expiresAfter={"seconds": 3600})
    kept = await gql.upload("kept.txt", b"k")
    assert file["expiresAt"] is not None
    assert kept["expiresAt"] is None
    listed = await gql("{ files { nodes { id } } }")
    assert [node["id"] for node in listed["files"]["nodes"]] == [kept["id"], file["id"]]
    past = utcnow() - timedelta(seconds=1)
    await FileDocument.get_pymongo_collection().update_one(
        {"_id": file["id"]}, {"$set": {"expires_at": past}}
    )
    listed = await gql("{ files { nodes { id } } }")
    assert [node["id"] for node in listed["files"]["nodes"]] == [kept["id"]]
    assert (await gql("query($id: ID!) { file(id: $id) { id } }", id=file["id"]))["file"] is None
    assert (await download(gql.http, file)).status_code == 404
    deadline = asyncio.get_running_loop().time() + 30
    while await FileDocument.find_one({"_id": file["id"]}) is not None:  # the sweep deletes it
        assert asyncio.get_running_loop().time() < deadline, "the expired file was never deleted"
        await asyncio.sleep(0.1)


async def test_another_projects_file_is_unknown(
    app: FastAPI, gql: GraphQLClient, other: ProjectClient, admin_key: str
) -> None:
    file = await gql.upload("mine.txt", b"private")
    seen = await other("query($id: ID!) { file(id: $id) { id } }", id=file["id"])
    assert seen["file"] is None
    assert (await other("{ files { nodes { id } } }"))["files"]["nodes"] == []
    error = await other.error("mutation($id: ID!) { deleteFile(id: $id) { id } }", id=file["id"])
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert (await download(other.http, file)).status_code == 404
    async with client(app) as anonymous:
        assert (await download(anonymous, file)).status_code == 401
    async with client(app, bearer(admin_key)) as admin:
        assert (await download(admin, file)).status_code == 403
    assert (await download(gql.http, file)).content == b"private"
