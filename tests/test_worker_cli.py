"""`threadline worker` refuses a configuration under which it would do nothing."""

import subprocess
from pathlib import Path

import pytest

from tests.processes import THREADLINE, environment


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_worker_refuses_to_start_without_workers(
    mongodb_uri: str, tmp_path: Path, workers: str
) -> None:
    # A real database it could use: the refusal is about THREADLINE_WORKERS alone.
    env = environment(mongodb_uri, "threadline_worker_cli", tmp_path, workers=workers)
    result = subprocess.run(
        [THREADLINE, "worker"], env=env, capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 2, result.stderr
    assert b"THREADLINE_WORKERS" in result.stderr
    assert b"worker_needs_workers" in result.stderr
