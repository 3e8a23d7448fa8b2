"""The checked-in SDL must be what `threadline export-schema` prints."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_is_up_to_date() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "app.cli", "export-schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    checked_in = (ROOT / "schema.graphql").read_text()
    assert printed == checked_in, "schema.graphql is stale: run `make schema` and commit it"
