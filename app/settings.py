"""One settings object, read from THREADLINE_* environment variables."""

import json
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.origins import parse_origin

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def known_level(level: str) -> str:
    name = level.strip().upper()
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: one of {', '.join(LEVELS)}")
    return name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREADLINE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # production: no introspection, no GraphiQL, no field suggestions in errors.
    env: Literal["development", "production"] = "development"
    # Unset: the embedded database is started as a separate process.
    mongodb_uri: str | None = None
    database_name: str = "threadline"
    # Where the embedded database and generated keys live.
    state_dir: Path = Path(".threadline")
    # The simple case: one OpenAI-compatible endpoint for every model name but the built-in.
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    # A models file (TOML or YAML): names/patterns → endpoint, key variable, context, tokenizer.
    # Its entries come first; the endpoint above, when set, serves every other name.
    models: Path | None = None
    # File search: with a model named, chunks and queries are embedded too, and the dense
    # ranking is fused with the lexical one. Unset: lexical (BM25) only, no endpoint needed.
    embeddings_model: str | None = None
    # Unset: the chat endpoint above (and then its key, which is never sent elsewhere).
    embeddings_base_url: str | None = None
    embeddings_api_key: SecretStr | None = None
    # `threadline run`'s server processes on its one port (uvicorn's workers); 0: one per core.
    # Each runs THREADLINE_WORKERS runs of its own.
    processes: int = Field(default=0, ge=0)
    workers: int = 2
    # `threadline worker` serves /healthz, /readyz and /metrics on this port (none: no server).
    worker_health_port: int | None = Field(default=None, ge=1, le=65535)
    run_lease_seconds: float = Field(default=30, gt=0)
    # On SIGTERM, running runs get this long to finish before they are handed back.
    drain_seconds: float = Field(default=5, ge=0)
    # A run waiting (queued, or for tool outputs) longer than this expires.
    run_expires_seconds: float = Field(default=600, gt=0)
    # The context window of the endpoint above, and of models file entries that give none.
    model_context_tokens: int = Field(default=128_000, ge=1024)
    # Unset: generated on first start and kept in state_dir/admin-key.
    admin_key: SecretStr | None = None
    # Signs client tokens (HS256). Unset: generated on first start, kept in state_dir/token-secret.
    # Changing it invalidates every client token at once.
    token_secret: SecretStr | None = Field(default=None, min_length=32)
    log_level: str = "INFO"
    # Levels per module over log_level, e.g. `engine=DEBUG,app.request_log=WARNING`: a name
    # covers the modules under it (`engine` is engine.*), the longest name that matches wins.
    log_levels: Annotated[dict[str, str], NoDecode] = {}
    # The largest file `uploadFile` takes (OpenAI's limit: 512 MB; sizes are GraphQL Ints).
    max_file_bytes: int = Field(default=512 * 1024 * 1024, ge=1, le=2**31 - 1)

    # code_interpreter's sandbox (engine/sandbox/jail.py): its Python, and each call's limits.
    sandbox_python: Path = Path(".venv-sandbox/bin/python")
    sandbox_cpu_seconds: int = Field(default=30, ge=1)
    sandbox_wall_seconds: float = Field(default=60, gt=0)
    sandbox_memory_bytes: int = Field(default=1024 * 1024 * 1024, ge=128 * 1024 * 1024)
    sandbox_processes: int = Field(default=32, ge=4)
    sandbox_output_bytes: int = Field(default=256 * 1024, ge=1024)
    # Each of a session's /mnt/data and /tmp (memory-backed), and so its largest file.
    sandbox_disk_bytes: int = Field(default=256 * 1024 * 1024, ge=1024 * 1024)
    # Sessions (one per thread) close after this long without a call; a worker holds at most
    # `sandbox_sessions`, closing the one idle longest to make room.
    sandbox_idle_seconds: float = Field(default=1200, gt=0)
    sandbox_sessions: int = Field(default=8, ge=1)

    # Request limits (OWASP GraphQL cheat sheet). 0 / "" switches one off.
    max_query_depth: int = Field(default=15, ge=0)
    max_aliases: int = Field(default=20, ge=0)
    max_tokens: int = Field(default=5000, ge=0)
    # The objects an operation may ask for (app/cost.py): a page of 100 messages with their
    # content and annotations costs 3,602.
    max_query_cost: int = Field(default=5000, ge=0)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=0)
    operation_timeout_seconds: float = Field(default=10.0, ge=0)
    # Per API key, across every server process on the database (`limits` syntax; several
    # joined by ";"). Exact within a process; processes reconcile through the database.
    rate_limit: str = "60/second;2000/minute"
    # Per client-token subject (an end user), across all its tokens, the same way.
    client_rate_limit: str = "20/second;1200/minute"
    # How often a process adds its hits to the shared counts and reads the others'; a busy
    # caller's counts are exchanged sooner (app/limits.py).
    rate_limit_sync_seconds: float = Field(default=0.25, gt=0)
    allow_queries_via_get: bool = True
    # Fairness (app/fairness.py), per API key or client-token subject, per server process.
    # Queries, mutations and /v1 requests in flight at once.
    max_concurrent_per_key: int = Field(default=8, ge=0)
    # GraphQL resolvers that wait (on the database) running at once in this process; the rest
    # wait their turn, and turns go round the projects waiting.
    max_resolvers: int = Field(default=1, ge=0)
    # Bad keys per client address; past it, bad keys get RATE_LIMITED (good keys still work).
    auth_failure_limit: str = "10/minute"
    ws_max_connections_per_key: int = Field(default=16, ge=0)
    # The largest websocket message (a `subscribe` with its variables) taken.
    ws_max_message_bytes: int = Field(default=1024 * 1024, ge=0)
    ws_max_operations: int = Field(default=20, ge=1)
    ws_connection_init_timeout_seconds: float = Field(default=10.0, gt=0)
    # A client that leaves a result unread this long (its connection's buffers full) is closed
    # (4408), so that it holds no memory for others; it resumes with `afterSequence`.
    ws_send_timeout_seconds: float = Field(default=10.0, gt=0)
    # permessage-deflate when a client offers it (browsers do): less bandwidth, but about 46 KB
    # more memory per open websocket and a tenth more CPU per subscriber and event
    # (bench/README.md). Events are small JSON messages: off unless bandwidth matters more.
    ws_per_message_deflate: bool = False
    # How often the server pings each open websocket (0: never): a dead client is found, and
    # proxies that close idle connections (often after 60 s) see traffic. A ping and its pong
    # cost the server ~0.1 ms: at 10,000 idle subscribers, every 45 s is ~3% of a core, never
    # 0.6% in all (bench/README.md).
    ws_ping_seconds: float = Field(default=45.0, ge=0)
    # How often an open websocket re-checks that its key is still valid while streaming.
    ws_auth_recheck_seconds: float = Field(default=5.0, ge=0)
    # Origins whose pages may call the API (CORS) and open websockets: exact
    # `scheme://host[:port]`, comma-separated or a JSON list. Empty: no other site may.
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("log_levels", mode="before")
    @classmethod
    def _levels_from_text(cls, value: object) -> object:
        """`module=LEVEL` pairs separated by commas."""
        if not isinstance(value, str):
            return value
        pairs = [pair.strip() for pair in value.split(",") if pair.strip()]
        if any(pair.count("=") != 1 for pair in pairs):
            raise ValueError("expected module=LEVEL pairs separated by commas")
        return dict(pair.split("=") for pair in pairs)

    @field_validator("log_level")
    @classmethod
    def _level_is_known(cls, value: str) -> str:
        return known_level(value)

    @field_validator("log_levels")
    @classmethod
    def _levels_are_known(cls, value: dict[str, str]) -> dict[str, str]:
        return {module.strip(): known_level(level) for module, level in value.items()}

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_from_text(cls, value: object) -> object:
        """The environment gives a string: a JSON list, or origins separated by commas."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [origin for origin in value.split(",") if origin.strip()]

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_exact(cls, value: list[str]) -> list[str]:
        return [parse_origin(origin) for origin in value]

    @model_validator(mode="after")
    def _embeddings_have_an_endpoint(self) -> Self:
        if self.embeddings_model and not (self.embeddings_base_url or self.openai_base_url):
            raise ValueError(
                "THREADLINE_EMBEDDINGS_MODEL needs THREADLINE_EMBEDDINGS_BASE_URL "
                "or THREADLINE_OPENAI_BASE_URL"
            )
        return self

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}/graphql"

    @property
    def production(self) -> bool:
        return self.env == "production"


settings = Settings()
