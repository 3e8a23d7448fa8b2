"""The example chat page in a real browser (Debian's chromium, driven by Playwright) against a
real `threadline run` with workers: sign in, a conversation streamed end to end, a function
call answered in the browser, each user seeing only their own chats. And pages from other
origins: one that is allowed calls the API and opens a websocket; one that is not, cannot."""

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from app.processes import free_port
from tests.browser import CHROMIUM, FLAGS
from tests.processes import http_url, server

pytestmark = pytest.mark.slow
TIMEOUT_MS = 30_000
# A page of another site that tries the API with a token, over HTTP and a websocket.
PROBE = """<!doctype html><script>
async function probe(api, token) {
  const result = {};
  try {
    const response = await fetch(api + "/graphql", {method: "POST",
      headers: {"content-type": "application/json", authorization: "Bearer " + token},
      body: JSON.stringify({query: "{ threads { nodes { id } } }"})});
    result.http = response.status;
  } catch (error) { result.http = "refused"; }
  result.websocket = await new Promise((resolve) => {
    const socket = new WebSocket(api.replace("http", "ws") + "/graphql", "graphql-transport-ws");
    socket.onopen = () => { socket.close(); resolve("open"); };
    socket.onerror = () => resolve("refused");
  });
  return result;
}
</script>"""


@contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """`folder` served on loopback at a port of its own: another origin than the API's."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


async def say(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#send")


async def test_a_conversation_in_the_example_page(
    browser: Browser, mongodb_uri: str, tmp_path: Path
) -> None:
    with server(mongodb_uri, "threadline_example_chat", tmp_path, workers=2) as live:
        page = await browser.new_page()
        await page.goto(f"{http_url(live)}/examples/chat")
        await expect(page.locator("#status")).to_contain_text(
            "Signed in as example-user", timeout=TIMEOUT_MS
        )
        await say(page, "hello there")
        answer = page.locator(".message.assistant").last
        await expect(answer).to_have_text("You said: hello there", timeout=TIMEOUT_MS)
        # The assistant calls a function the page runs; its answer names the output.
        await say(page, "/call get_time {}")
        await expect(page.locator(".message.tool")).to_contain_text(
            "get_time() →", timeout=TIMEOUT_MS
        )
        await expect(page.locator(".message.assistant").last).to_contain_text(
            "Tool results: get_time returned", timeout=TIMEOUT_MS
        )
        await expect(page.locator("#threads button")).to_have_count(1)
        # A reload shows the chat from the server, as stored.
        await page.reload()
        await expect(page.locator("#threads button")).to_have_count(1, timeout=TIMEOUT_MS)
        await page.locator("#threads button").first.click()
        await expect(page.locator(".message.user")).to_have_count(2, timeout=TIMEOUT_MS)
        # Another user of the app sees none of it.
        await page.fill("#subject", "someone-else")
        await page.click("#sign-in")
        await expect(page.locator("#status")).to_contain_text(
            "Signed in as someone-else", timeout=TIMEOUT_MS
        )
        await expect(page.locator("#threads button")).to_have_count(0)


async def test_only_allowed_origins_reach_the_api(
    browser: Browser, mongodb_uri: str, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PROBE)
    results: dict[str, Any] = {}
    with (
        static_site(site) as allowed,
        static_site(site) as other,
        server(mongodb_uri, "threadline_origins", tmp_path, cors_origins=allowed) as live,
    ):
        api = http_url(live)
        token = live.payload["authorization"].removeprefix("Bearer ")
        for name, origin in (("allowed", allowed), ("other", other)):
            page = await browser.new_page()
            await page.goto(f"{origin}/index.html")
            results[name] = await asyncio.wait_for(
                page.evaluate("([api, token]) => probe(api, token)", [api, token]), 30
            )
    assert results == {
        "allowed": {"http": 200, "websocket": "open"},
        "other": {"http": "refused", "websocket": "refused"},
    }
