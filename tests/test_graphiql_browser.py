"""A real browser opens GraphiQL on the real server, with every other host unreachable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.processes import free_port
from tests.browser import CHROMIUM, FLAGS
from tests.servers import wait_until_serving

THREADLINE = Path(sys.executable).parent / "threadline"


@pytest.mark.slow
def test_graphiql_renders_in_chromium(mongodb_uri: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    env = os.environ | {
        "THREADLINE_HOST": "127.0.0.1",
        "THREADLINE_PORT": str(port),
        "THREADLINE_MONGODB_URI": mongodb_uri,
        "THREADLINE_DATABASE_NAME": "threadline_browser_test",
        "THREADLINE_STATE_DIR": str(tmp_path / "state"),
    }
    log = tmp_path / "threadline.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(THREADLINE), "run"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_serving(url, server, log)
        browser = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                *FLAGS,
                f"--user-data-dir={tmp_path / 'chromium'}",
                "--dump-dom",
                "--virtual-time-budget=10000",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        server.terminate()
        server.wait(timeout=15)
    dom = browser.stdout
    assert browser.returncode == 0, browser.stderr
    # React replaced "Loading..." with GraphiQL's editors.
    assert "graphiql-query-editor" in dom, dom[:2000] + browser.stderr
    assert "graphiql-editor" in dom
    assert "Loading..." not in dom
