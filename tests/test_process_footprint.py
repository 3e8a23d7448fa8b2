"""What a process carries: one that only serves (no workers) never loads the tokenizers (~110
MB) or the file parsers (~25 MB); one with workers loads the tokenizers before its first run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import environment

# A real app, started and stopped by its lifespan, then asked what it loaded.
REPORT = """
import asyncio, json, sys
from asgi_lifespan import LifespanManager
from app.main import create_app
from app.settings import Settings
from engine import tokens

async def main() -> None:
    async with LifespanManager(create_app(Settings())):
        loaded = {
            "tokenizers": tokens.encoding.cache_info().currsize,
            "parsers": [name for name in ("docx", "pptx", "pypdf") if name in sys.modules],
        }
    print(json.dumps(loaded))

asyncio.run(main())
"""


@pytest.mark.parametrize(("workers", "tokenizers"), [(0, 0), (1, 2)])
def test_what_a_process_loads(
    mongodb_uri: str, tmp_path: Path, workers: int, tokenizers: int
) -> None:
    env = environment(mongodb_uri, "threadline_footprint", tmp_path, workers=workers)
    result = subprocess.run(
        [sys.executable, "-c", REPORT], env=env, capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    loaded = json.loads(result.stdout.decode().strip().splitlines()[-1])
    assert loaded == {"tokenizers": tokenizers, "parsers": []}
