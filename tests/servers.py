"""Waiting for a real server process, for the tests that start one."""

import subprocess
import time
from pathlib import Path

import httpx


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], log: Path | None = None, timeout: float = 60
) -> None:
    """Returns once GET `url` answers 200; fails at once if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited with {process.returncode}\n{_read(log)}"
        try:
            if httpx.get(url, headers={"Accept": "text/html"}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s\n{_read(log)}")


def _read(log: Path | None) -> str:
    return log.read_text() if log else ""
