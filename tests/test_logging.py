"""Log levels per module (THREADLINE_LOG_LEVELS), in a process of its own, as a server sets them."""

import json
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.settings import Settings

LOGS = """
import logging, structlog
from app.settings import Settings
from app.logging import configure_logging
settings = Settings()
configure_logging(settings.log_level, settings.log_levels)
structlog.get_logger("engine.worker").debug("engine_debug")
structlog.get_logger("engine.worker").info("engine_info")
structlog.get_logger("app.request_log").info("request")
structlog.get_logger("app.request_log").warning("request_warning")
structlog.get_logger("app.main").info("main_info")
structlog.get_logger("app.main").debug("main_debug")
logging.getLogger("pymongo.command").info("pymongo_info")
logging.getLogger("httpx").info("httpx_info")
logging.getLogger("httpx").warning("httpx_warning %s", "formatted")
"""


def logged(**variables: str) -> list[dict[str, str]]:
    env = {**os.environ, **variables}
    done = subprocess.run(
        [sys.executable, "-c", LOGS], env=env, capture_output=True, text=True, check=True
    )
    return [json.loads(line) for line in done.stderr.splitlines()]


def test_levels_per_module_over_the_default() -> None:
    lines = logged(
        THREADLINE_LOG_LEVEL="info",
        THREADLINE_LOG_LEVELS="engine=DEBUG, app.request_log=warning,pymongo=INFO",
    )
    assert [(line["event"], line["logger"], line["level"]) for line in lines] == [
        ("engine_debug", "engine.worker", "debug"),
        ("engine_info", "engine.worker", "info"),
        ("request_warning", "app.request_log", "warning"),
        ("main_info", "app.main", "info"),
        ("pymongo_info", "pymongo.command", "info"),  # another library's, named
        ("httpx_warning formatted", "httpx", "warning"),  # the others' at WARNING
    ]
    assert all("timestamp" in line for line in lines)


def test_without_levels_per_module_own_modules_log_at_the_level() -> None:
    lines = logged(THREADLINE_LOG_LEVEL="DEBUG", THREADLINE_LOG_LEVELS="")
    events = [line["event"] for line in lines]
    assert events == [
        "engine_debug",
        "engine_info",
        "request",
        "request_warning",
        "main_info",
        "main_debug",
        "httpx_warning formatted",
    ]


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ("engine", "expected module=LEVEL pairs"),
        ("engine=LOUD", "unknown log level 'LOUD'"),
        ("engine=debug=info", "expected module=LEVEL pairs"),
    ],
)
def test_bad_levels_are_refused_with_what_is_wrong(levels: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(log_levels=levels)  # as the environment gives it: text
