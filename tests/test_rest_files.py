"""`/v1/files` through the official openai SDK, as user code calls it."""

from typing import Any

import httpx
import httpx2
import openai
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI

from models.file import FileDocument
from tests.apps import changed_app

NOTES = b"Meeting notes: the bridge opens at nine.\n"


async def test_upload_retrieve_download_delete(openai_client: AsyncOpenAI) -> None:
    created = await openai_client.files.create(file=("notes.txt", NOTES), purpose="assistants")
    assert created.object == "file"
    assert created.id.startswith("file-")
    assert (created.filename, created.bytes, created.purpose) == (
        "notes.txt",
        len(NOTES),
        "assistants",
    )
    assert created.status == "processed"
    assert isinstance(created.created_at, int)
    assert created.expires_at is None

    assert await openai_client.files.retrieve(created.id) == created
    content = await openai_client.files.content(created.id)
    assert content.content == NOTES
    assert content.response.headers["content-type"].startswith("text/plain")
    assert content.response.headers["content-disposition"].startswith("attachment;")
    assert content.response.headers["x-content-type-options"] == "nosniff"

    deleted = await openai_client.files.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "file", True)
    for gone in (
        openai_client.files.retrieve(created.id),
        openai_client.files.content(created.id),
        openai_client.files.delete(created.id),
    ):
        with pytest.raises(openai.NotFoundError) as missing:
            await gone
        assert f"No file found with id '{created.id}'" in missing.value.message
    assert await FileDocument.find_all().count() == 0


async def test_expires_after_as_the_sdk_sends_it(openai_client: AsyncOpenAI) -> None:
    created = await openai_client.files.create(
        file=("temp.txt", b"t"),
        purpose="user_data",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert created.expires_at is not None
    assert created.expires_at - created.created_at in (3600, 3601)  # whole seconds, rounded down


async def test_list_by_purpose_and_pages(openai_client: AsyncOpenAI) -> None:
    made = [
        await openai_client.files.create(
            file=(f"f{i}.txt", b"x"), purpose="user_data" if i % 2 else "assistants"
        )
        for i in range(5)
    ]
    ids = [file.id for file in made]
    everything = await openai_client.files.list()
    assert [file.id for file in everything.data] == ids[::-1]
    assert not everything.has_more
    user_data = await openai_client.files.list(purpose="user_data")
    assert [file.id for file in user_data.data] == [ids[3], ids[1]]
    assert (await openai_client.files.list(purpose="batch")).data == []
    first = await openai_client.files.list(limit=2)
    assert [file.id for file in first.data] == ids[::-1][:2]
    assert first.has_more
    assert [file.id async for file in await openai_client.files.list(limit=2)] == ids[::-1]
    ascending = await openai_client.files.list(order="asc", after=ids[1], limit=2)
    assert [file.id for file in ascending.data] == ids[2:4]
    assert ascending.has_more


async def test_bad_input_names_the_field(openai_client: AsyncOpenAI, rest_url: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"purpose": "fine-tune"}, "purpose"),
        ({"purpose": "assistants_output"}, "purpose"),
        ({"purpose": "vision"}, "purpose"),  # a text file is not an image
        (
            {"purpose": "user_data", "expires_after": {"anchor": "created_at", "seconds": 5}},
            "expires_after.seconds",
        ),
        ({"purpose": "user_data", "extra_body": {"colour": "red"}}, "colour"),
    ]
    for fields, param in cases:
        with pytest.raises(openai.BadRequestError) as bad:
            await openai_client.files.create(file=("notes.txt", NOTES), **fields)
        assert bad.value.status_code == 400
        assert bad.value.param == param, (fields, bad.value.message)
    with pytest.raises(openai.BadRequestError) as limit:
        await openai_client.files.list(limit=10_001)
    assert limit.value.param == "limit"
    headers = {"authorization": f"Bearer {openai_client.api_key}"}
    async with httpx.AsyncClient(headers=headers) as plain:
        no_file = await plain.post(f"{rest_url}/files", data={"purpose": "assistants"})
        as_json = await plain.post(f"{rest_url}/files", json={"purpose": "assistants"})
    for answer in (no_file, as_json):
        assert answer.status_code == 400
        assert answer.json()["error"]["param"] == "file"
    assert await FileDocument.find_all().count() == 0


async def test_the_upload_limits_hold(
    app: FastAPI, dev_key: str, openai_client: AsyncOpenAI
) -> None:
    limited = changed_app(app, max_file_bytes=1000)
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=limited))
    async with AsyncOpenAI(
        base_url="http://threadline.test/v1", api_key=dev_key, http_client=http, max_retries=0
    ) as sdk:
        fits = await sdk.files.create(file=("fits.txt", b"x" * 1000), purpose="assistants")
        with pytest.raises(openai.BadRequestError) as big:
            await sdk.files.create(file=("big.txt", b"x" * 1001), purpose="assistants")
        # Past the limit by more than a form's overhead: refused before anything is parsed.
        with pytest.raises(openai.APIStatusError) as huge:
            await sdk.files.create(
                file=("huge.txt", b"x" * (2 * 1024 * 1024)), purpose="assistants"
            )
    assert fits.bytes == 1000
    assert big.value.param == "file"
    assert "THREADLINE_MAX_FILE_BYTES" in big.value.message
    assert huge.value.status_code == 413
    assert isinstance(huge.value.body, dict)
    assert huge.value.body["type"] == "invalid_request_error"
    assert "THREADLINE_MAX_FILE_BYTES" in huge.value.body["message"]
    assert [file.id for file in (await openai_client.files.list()).data] == [fits.id]


async def test_another_projects_file_is_not_found(
    openai_client: AsyncOpenAI, other_openai: AsyncOpenAI
) -> None:
    mine = await openai_client.files.create(file=("mine.txt", NOTES), purpose="assistants")
    for call in (
        other_openai.files.retrieve(mine.id),
        other_openai.files.content(mine.id),
        other_openai.files.delete(mine.id),
    ):
        with pytest.raises(openai.NotFoundError):
            await call
    assert (await other_openai.files.list()).data == []
    # As a cursor, another project's id reads as one of the caller's deleted since would.
    assert (await other_openai.files.list(after=mine.id)).data == []
    with pytest.raises(openai.BadRequestError) as cursor:
        await other_openai.files.list(after="file-unknown")
    assert cursor.value.param == "after"
    assert (await openai_client.files.content(mine.id)).content == NOTES
