"""GraphiQL served without internet: its scripts and styles come from Threadline itself.

`scripts/fetch_graphiql_assets.py` (run by `make install`) puts the files that Strawberry's
page loads from unpkg.com under app/static/graphiql/, at the same NAME@VERSION/PATH; here the
page's URLs are pointed there. The integrity attributes stay: the bytes are the same.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from strawberry.fastapi import GraphQLRouter

ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"
ASSETS_URL = "/graphiql-assets"
UNPKG = "https://unpkg.com/"
# Where Strawberry's page builds the GraphiQL element: its props can be added right after.
GRAPHIQL_PROPS = "React.createElement(GraphiQL, {"


HeadersFor = Callable[[Request], dict[str, str] | None]


class OfflineGraphQLRouter(GraphQLRouter[Any, Any]):
    """A GraphQLRouter whose GraphiQL page loads everything from ASSETS_URL.

    `default_headers(request)` may pre-fill GraphiQL's headers editor (its `defaultHeaders`
    prop) for a browser that has no headers of its own saved yet; it decides per request.
    """

    def __init__(
        self, *args: Any, default_headers: HeadersFor | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.default_headers = default_headers
        # Built once, so that a page this code no longer fits fails at start, not per request.
        self.offline_ide_html = offline_graphiql_html(self.graphql_ide_html)
        if default_headers is not None:
            offline_graphiql_html(self.graphql_ide_html, {})

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        headers = self.default_headers(request) if self.default_headers else None
        if not headers:
            return HTMLResponse(self.offline_ide_html)
        # The page holds a key: no cache may keep it.
        html = offline_graphiql_html(self.graphql_ide_html, headers)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def offline_graphiql_html(html: str, default_headers: dict[str, str] | None = None) -> str:
    html = html.replace(UNPKG, f"{ASSETS_URL}/")
    if default_headers is None:
        return html
    if GRAPHIQL_PROPS not in html:
        # A Strawberry upgrade changed its page: fail loudly rather than drop the headers.
        raise RuntimeError(f"Strawberry's GraphiQL page no longer has {GRAPHIQL_PROPS!r}")
    # GraphiQL wants the editor's text (JSON), here as a JS string literal, "<" escaped so that
    # no value can close the <script>.
    text = json.dumps(json.dumps(default_headers, indent=2)).replace("<", "\\u003c")
    return html.replace(GRAPHIQL_PROPS, f"{GRAPHIQL_PROPS}\n          defaultHeaders: {text},")


def mount_graphiql_assets(app: FastAPI, directory: Path = ASSETS_DIR) -> None:
    """Serve `directory` at ASSETS_URL; without it GraphiQL's page stays blank, so say so."""
    if not (directory / ".complete").is_file():
        structlog.get_logger(__name__).warning(
            "graphiql_assets_missing",
            directory=str(directory),
            hint="run `make install` (scripts/fetch_graphiql_assets.py): GraphiQL will not load",
        )
    # check_dir=False: the API itself works without them.
    app.mount(ASSETS_URL, StaticFiles(directory=directory, check_dir=False), name="graphiql-assets")
