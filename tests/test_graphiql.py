"""GraphiQL is served whole by Threadline: no script or stylesheet from another host."""

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from strawberry.http.ides import get_graphql_ide_html
from structlog.testing import capture_logs

from app.graphiql import ASSETS_URL, mount_graphiql_assets, offline_graphiql_html


class Fetches(HTMLParser):
    """Every src/href of the page, with the tag's integrity attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href"):
            url = attributes.get(name)
            if url is not None:
                self.urls.append((url, attributes.get("integrity")))


async def page(http: httpx.AsyncClient) -> str:
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_graphiql_page_fetches_nothing_from_outside(http: httpx.AsyncClient) -> None:
    html = await page(http)
    parser = Fetches()
    parser.feed(html)
    assert any(url.startswith(ASSETS_URL) for url, _ in parser.urls)
    for url, _ in parser.urls:
        # The favicon is an inline data: URL (its svg xmlns is a name, not a fetch).
        assert url.startswith((f"{ASSETS_URL}/", "data:")), url
    assert "unpkg" not in html


async def test_graphiql_assets_are_served_and_match_their_integrity(
    http: httpx.AsyncClient,
) -> None:
    html = await page(http)
    parser = Fetches()
    parser.feed(html)
    local = [(url, integrity) for url, integrity in parser.urls if url.startswith(ASSETS_URL)]
    assert len(local) == html.count("integrity=")  # every checked fetch is one of ours
    for url, integrity in local:
        response = await http.get(url)
        assert response.status_code == 200, url
        expected_type = "text/css" if url.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(expected_type), url
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url


def test_default_headers_prefill_graphiql_headers_editor() -> None:
    headers = {"Authorization": "Bearer </script><b>", "X-Project": "p1"}
    html = offline_graphiql_html(get_graphql_ide_html("graphiql"), headers)
    match = re.search(r"React\.createElement\(GraphiQL, \{\s*defaultHeaders: (\"[^\n]*\"),", html)
    assert match is not None
    assert "</script><b>" not in match.group(1)
    # A JS string literal whose text is the editor's JSON.
    assert json.loads(json.loads(match.group(1))) == headers
    assert "defaultHeaders:" not in offline_graphiql_html(get_graphql_ide_html("graphiql"))


def test_missing_assets_are_logged(tmp_path: Path) -> None:
    with capture_logs() as logs:
        mount_graphiql_assets(FastAPI(), tmp_path / "absent")
    assert [entry["event"] for entry in logs] == ["graphiql_assets_missing"]
    assert logs[0]["log_level"] == "warning"


async def test_graphiql_on_loopback_prefills_the_dev_key(app: FastAPI, dev_key: str) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as local:
        html = await page(local)
    match = re.search(r"defaultHeaders: (\"[^\n]*\"),", html)
    assert match is not None
    assert json.loads(json.loads(match.group(1))) == {"Authorization": f"Bearer {dev_key}"}


@pytest.mark.parametrize(
    ("client", "base_url"),
    [
        (("127.0.0.1", 50000), "http://rebound.example"),  # a DNS name rebound to loopback
        (("203.0.113.9", 50000), "http://127.0.0.1:8000"),  # a remote client
    ],
)
async def test_graphiql_elsewhere_holds_no_key(
    app: FastAPI, dev_key: str, client: tuple[str, int], base_url: str
) -> None:
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as remote:
        html = await page(remote)
    assert "defaultHeaders:" not in html
    assert dev_key not in html
