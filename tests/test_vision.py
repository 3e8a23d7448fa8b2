"""Vision: image parts reach the model as OpenAI chat image parts (image files as data URLs
read from GridFS), checked on what a real OpenAI-compatible endpoint received."""

import base64
import io
import os
from typing import Any

import pytest
from PIL import Image

from engine import prompt, tokens
from tests.graphql import GraphQLClient
from tests.openai_server import Script, Scripted
from tests.runs import CREATE_RUN, CREATE_THREAD, function_tool, new_assistant, wait_for

MODEL = "gpt-test"  # any name but the scripted model's goes to the endpoint
CREATE_MESSAGE = """mutation($t: ID!, $input: CreateMessageInput!) {
  createMessage(threadId: $t, input: $input) { id } }"""
DELETE_FILE = "mutation($id: ID!) { deleteFile(id: $id) { deleted } }"
PHOTO_URL = "https://example.com/photos/cat.png"


def png(width: int, height: int, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def image_file(file_id: str, detail: str | None = None) -> dict[str, Any]:
    given = {"fileId": file_id} | ({"detail": detail} if detail else {})
    return {"type": "IMAGE_FILE", "imageFile": given}


def text(value: str) -> dict[str, Any]:
    return {"type": "TEXT", "text": value}


def decoded(part: dict[str, Any], mime: str = "image/png") -> bytes:
    url = part["image_url"]["url"]
    prefix = f"data:{mime};base64,"
    assert url.startswith(prefix), url[:80]
    return base64.b64decode(url.removeprefix(prefix), validate=True)


async def run_on(gql: GraphQLClient, thread_id: str, model: str = MODEL) -> dict[str, Any]:
    assistant = await new_assistant(gql, model=model)
    run = await gql(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant})
    return await wait_for(gql, run["createRun"]["id"])


async def test_image_files_and_urls_reach_the_endpoint_as_image_parts(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    server = endpoint(Script(text="A red square.", usage=None))
    small, wide = png(40, 30), png(1200, 600, "blue")
    vision = (await gql.upload("square.png", small, "VISION"))["id"]
    # OpenAI takes ASSISTANTS files in image parts too.
    assistants = (await gql.upload("wide.png", wide, "ASSISTANTS"))["id"]
    seeds = [
        {"content": "Plain text stays a string."},
        {"contentParts": [text("What is this?"), image_file(vision, "LOW")]},
        {
            "contentParts": [
                text("And these?"),
                {"type": "IMAGE_URL", "imageUrl": {"url": PHOTO_URL, "detail": "HIGH"}},
                text("Compare them."),
                image_file(assistants),
            ]
        },
    ]
    thread = (await gql(CREATE_THREAD, input={"messages": seeds}))["createThread"]
    done = await run_on(gql, thread["id"])
    assert done["status"] == "COMPLETED", done

    [request] = server.requests
    plain, first, second = request.body["messages"]
    assert plain == {"role": "user", "content": "Plain text stays a string."}
    assert first["role"] == "user"
    [question, image] = first["content"]
    assert question == {"type": "text", "text": "What is this?"}
    assert image["type"] == "image_url"
    assert image["image_url"]["detail"] == "low"
    assert decoded(image) == small
    assert [part["type"] for part in second["content"]] == [
        "text",
        "image_url",
        "text",
        "image_url",
    ]
    assert second["content"][1] == {
        "type": "image_url",
        "image_url": {"url": PHOTO_URL, "detail": "high"},
    }
    assert second["content"][3]["image_url"]["detail"] == "auto"
    assert decoded(second["content"][3]) == wide

    # With no usage from the endpoint the run counts its prompt itself, images by OpenAI's
    # formula: low 85; the URL's size unknown, 765; 1200x600, 3x2 tiles of 512px, 1105.
    assert done["usage"]["promptTokens"] == tokens.count_messages(request.body["messages"])
    assert tokens.count_message(first) == 3 + tokens.count("What is this?") + 85
    texts = tokens.count("And these?") + tokens.count("Compare them.")
    assert tokens.count_message(second) == 3 + texts + 765 + 1105


async def test_an_image_of_many_gridfs_chunks_arrives_whole(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    server = endpoint(Script(text="Noise.", usage=None))
    noise = io.BytesIO()
    Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3)).save(noise, "PNG")
    data = noise.getvalue()
    assert len(data) > 4 * 255 * 1024  # GridFS chunks
    image = (await gql.upload("noise.png", data, "VISION"))["id"]
    parts = [image_file(image, "HIGH")]
    thread = await gql(CREATE_THREAD, input={"messages": [{"contentParts": parts}]})
    done = await run_on(gql, thread["createThread"]["id"])
    assert done["status"] == "COMPLETED", done
    [message] = server.requests[0].body["messages"]
    assert decoded(message["content"][0]) == data
    assert done["usage"]["promptTokens"] == 3 + 765 + 3  # 600x600: 2x2 tiles


async def test_an_image_file_in_an_assistant_message_is_named_in_text(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    server = endpoint(Script(text="ok"))
    image = (await gql.upload("chart.png", png(8, 8), "VISION"))["id"]
    parts = [text("Here is the chart:"), image_file(image)]
    seeds = [{"role": "ASSISTANT", "contentParts": parts}, {"content": "Thanks."}]
    thread = (await gql(CREATE_THREAD, input={"messages": seeds}))["createThread"]
    assert (await run_on(gql, thread["id"]))["status"] == "COMPLETED"
    said = server.requests[0].body["messages"][0]
    assert said == {"role": "assistant", "content": f"Here is the chart:\n[image {image}]"}


@pytest.mark.parametrize("where", ["createMessage", "createThread", "additionalMessages"])
async def test_a_file_that_is_not_an_image_is_refused_in_an_image_part(
    gql: GraphQLClient, where: str
) -> None:
    notes = (await gql.upload("notes.txt", b"not a picture", "ASSISTANTS"))["id"]
    message = {"contentParts": [text("Look:"), image_file(notes)]}
    thread = (await gql(CREATE_THREAD, input={}))["createThread"]
    if where == "createMessage":
        error = await gql.error(CREATE_MESSAGE, t=thread["id"], input=message)
    elif where == "createThread":
        error = await gql.error(CREATE_THREAD, input={"messages": [message]})
    else:
        assistant = await new_assistant(gql)
        input_ = {"assistantId": assistant, "additionalMessages": [message]}
        error = await gql.error(CREATE_RUN, threadId=thread["id"], input=input_)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert notes in error["message"]
    assert "png, jpeg, gif or webp" in error["message"]
    read = await gql(
        "query($id: ID!) { thread(id: $id) { messages { nodes { id } } runs { nodes { id } } } }",
        id=thread["id"],
    )
    assert read["thread"] == {"messages": {"nodes": []}, "runs": {"nodes": []}}


async def test_a_deleted_image_file_is_named_as_gone_and_the_run_completes(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    server = endpoint(Script(text="ok"))
    image = (await gql.upload("gone.png", png(16, 16), "VISION"))["id"]
    parts = [text("What was this?"), image_file(image)]
    thread = await gql(CREATE_THREAD, input={"messages": [{"contentParts": parts}]})
    await gql(DELETE_FILE, id=image)
    done = await run_on(gql, thread["createThread"]["id"])
    assert done["status"] == "COMPLETED", done
    [message] = server.requests[0].body["messages"]
    assert message["content"] == f"What was this?\n[image {image}: the file was deleted]"


async def test_images_past_the_size_limits_are_named_in_text(
    gql: GraphQLClient, endpoint: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One image past the per-image limit; of the rest, the newest that fit the per-prompt
    limit are sent (the limits made small: the rule is the same at 20 and 50 MB)."""
    server = endpoint(Script(text="ok"))
    big, older, newer = png(300, 300), png(20, 20, "green"), png(20, 20, "yellow")
    assert len(big) > 2 * len(older)
    monkeypatch.setattr(prompt, "MAX_IMAGE_BYTES", len(big) - 1)
    monkeypatch.setattr(prompt, "MAX_PROMPT_IMAGE_BYTES", len(newer) + len(older) // 2)
    ids = [
        (await gql.upload(f"{n}.png", data, "VISION"))["id"]
        for n, data in enumerate((big, older, newer))
    ]
    seeds = [{"contentParts": [text(f"image {n}"), image_file(i)]} for n, i in enumerate(ids)]
    thread = (await gql(CREATE_THREAD, input={"messages": seeds}))["createThread"]
    assert (await run_on(gql, thread["id"]))["status"] == "COMPLETED"
    first, second, third = server.requests[0].body["messages"]
    assert first["content"].startswith(f"image 0\n[image {ids[0]}: larger than ")
    assert second["content"].startswith(f"image 1\n[image {ids[1]}: not shown, past ")
    assert decoded(third["content"][1]) == newer


def test_token_counts_of_content_parts() -> None:
    square = base64.b64encode(png(1024, 1024)).decode()
    tall = base64.b64encode(png(2048, 4096)).decode()
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "Describe these."},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{tall}"}},
            {
                "type": "image_url",
                "image_url": {"url": f"data:image/png;base64,{square}", "detail": "high"},
            },
            {"type": "image_url", "image_url": {"url": PHOTO_URL, "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,bm90IGFuIGltYWdl"}},
        ],
    }
    # OpenAI's published examples: 2048x4096 high costs 1105, 1024x1024 765, low always 85;
    # an unreadable image is counted as a 1024x1024 one.
    expected = 3 + tokens.count("Describe these.") + 1105 + 765 + 85 + 765
    assert tokens.count_message(message) == expected
    assert tokens.image_tokens("auto", (512, 512)) == 85 + 170
    assert tokens.image_tokens("high", (100, 5000)) == 85 + 170 * 4  # 40x2048: 1x4 tiles
    assert tokens.image_tokens("low", (4096, 4096)) == 85
    assert tokens.image_tokens("high", None) == 765
    # Only the header is read: a huge image's size costs no memory.
    assert tokens.data_url_size(f"data:image/png;base64,{tall}") == (2048, 4096)


async def test_the_scripted_model_reads_the_text_beside_an_image(gql: GraphQLClient) -> None:
    image = (await gql.upload("dot.png", png(4, 4), "VISION"))["id"]
    assistant = await new_assistant(gql, tools=[function_tool("lookup")])
    parts = [text('/call lookup {"what": "the dot"}'), image_file(image)]
    thread = await gql(CREATE_THREAD, input={"messages": [{"contentParts": parts}]})
    input_ = {"assistantId": assistant}
    run = await gql(CREATE_RUN, threadId=thread["createThread"]["id"], input=input_)
    waiting = await wait_for(gql, run["createRun"]["id"], {"REQUIRES_ACTION", "FAILED"})
    assert waiting["status"] == "REQUIRES_ACTION", waiting
    [call] = waiting["requiredAction"]["submitToolOutputs"]["toolCalls"]
    assert call["function"] == {"name": "lookup", "arguments": '{"what": "the dot"}'}

    parts = [image_file(image, "HIGH"), text("What colour?")]
    thread = await gql(CREATE_THREAD, input={"messages": [{"contentParts": parts}]})
    done = await run_on(gql, thread["createThread"]["id"], model="threadline/scripted")
    assert done["status"] == "COMPLETED", done
    answer = await gql(
        "query($id: ID!) { thread(id: $id) { messages(first: 1) { nodes { text } } } }",
        id=thread["createThread"]["id"],
    )
    assert answer["thread"]["messages"]["nodes"] == [{"text": "You said: What colour?"}]
