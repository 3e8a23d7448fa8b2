"""Browsers: which other sites' pages may call the API (CORS) and open websockets.

Nothing relies on cookies (keys are bearer tokens), so CORS never allows credentials. CORS does
not cover websockets: the same allowlist goes to the GraphQL router, whose handshake check
(Strawberry's `allowed_origins`) refuses, with HTTP 403, an `Origin` that is neither allowed
nor this server's own (cross-site websocket hijacking). Clients that are not browsers send no
`Origin` and are let through; the key in `connection_init` still decides.
"""

from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

CORS_METHODS = ("GET", "POST", "OPTIONS")
CORS_HEADERS = (
    "authorization",
    "content-type",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "graphql-preflight",
)
CORS_MAX_AGE_SECONDS = 600  # browsers cache a preflight this long (Chromium caps it at 7200)
DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(value: str) -> str:
    """`scheme://host[:port]` as browsers send it (lower case, no default port), or ValueError."""
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin: expected http(s)://host[:port]")
    if parts.path or "?" in text or "#" in text or "@" in parts.netloc:
        raise ValueError(f"{value!r} is not an origin: no path (not even '/'), query or user")
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError(f"{value!r} is not an origin: {error}") from None
    scheme = parts.scheme.lower()
    host = parts.hostname  # lower case, without an IPv6 address's brackets
    host = f"[{host}]" if ":" in host else host
    suffix = "" if port in (None, DEFAULT_PORTS[scheme]) else f":{port}"
    return f"{scheme}://{host}{suffix}"


def add_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Added last, so outermost: a preflight is answered before the body limit, and the limit's
    413 still carries CORS headers (the page can read why)."""
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            allow_credentials=False,
            max_age=CORS_MAX_AGE_SECONDS,
        )
