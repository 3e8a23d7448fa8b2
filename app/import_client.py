"""`threadline import-openai`: posts an OpenAI export to a server's admin import route
(rest/imports.py), with the admin key from THREADLINE_ADMIN_KEY or the state directory."""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from app.keys import ADMIN_KEY_FILE, read_secret
from app.settings import Settings

TIMEOUT_SECONDS = 600  # a thousand objects, each a few writes: well within it
NO_ADMIN_KEY = (
    "threadline import-openai: no admin key: set THREADLINE_ADMIN_KEY, or run where the "
    "server's THREADLINE_STATE_DIR ({path}) is."
)


def import_url(base_url: str, project_id: str) -> str:
    """The route under `base_url`, given with or without its `/v1`."""
    base = base_url.rstrip("/").removesuffix("/v1")
    return f"{base}/v1/admin/import?" + urllib.parse.urlencode({"project_id": project_id})


def admin_key(settings: Settings) -> str:
    if settings.admin_key is not None:
        return settings.admin_key.get_secret_value()
    path = settings.state_dir / ADMIN_KEY_FILE
    if not path.exists():
        raise SystemExit(NO_ADMIN_KEY.format(path=path))
    return read_secret(path)


def import_openai(settings: Settings, base_url: str, project_id: str, export: Path) -> None:
    """Prints the server's report; exits 1 with its error when it refused the import."""
    try:
        data = export.read_bytes()
    except OSError as error:
        raise SystemExit(f"threadline import-openai: {export}: {error.strerror}") from None
    request = urllib.request.Request(
        import_url(base_url, project_id),
        data=data,
        headers={
            "authorization": f"Bearer {admin_key(settings)}",
            "content-type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            report = json.load(response)
    except urllib.error.HTTPError as error:
        raise SystemExit(f"threadline import-openai: {error.code}: {_message(error)}") from None
    except urllib.error.URLError as error:
        raise SystemExit(f"threadline import-openai: {base_url}: {error.reason}") from None
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


def _message(error: urllib.error.HTTPError) -> str:
    """OpenAI's `error.message`, or the body as it came."""
    text = error.read().decode(errors="replace")
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return text
    return str(message)
