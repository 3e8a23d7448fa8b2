"""First start: the admin key and the default project's dev key, printed once, kept on disk,
and the secret that signs client tokens, kept on disk and never shown.

Printing the keys is the one place a secret is shown; logs only ever say where they are kept.
"""

import os
import secrets
import sys
from pathlib import Path

import structlog

from app.settings import Settings
from models import api_key
from models.project import ensure_default_project

log = structlog.get_logger(__name__)

ADMIN_KEY_FILE = "admin-key"
DEV_KEY_FILE = "dev-key"
TOKEN_SECRET_FILE = "token-secret"
ADMIN_KEY_PREFIX = "tl-admin-"


def _write_secret(path: Path, secret: str) -> bool:
    """Writes a new 0600 file; False if it exists already (another server was first).

    Written whole under a temporary name, then linked into place (a link never replaces a
    file): servers starting together never read a file another one is still writing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secret + "\n")
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink(missing_ok=True)
    return True


def read_secret(path: Path) -> str:
    return path.read_text().strip()


def _announce(what: str, secret: str, path: Path) -> None:
    sys.stderr.write(f"\n  {what}: {secret}\n  (kept in {path}, readable by this user only)\n\n")
    sys.stderr.flush()


def admin_key(settings: Settings) -> str:
    """THREADLINE_ADMIN_KEY, else the one kept in state_dir/admin-key, made on first start."""
    if settings.admin_key is not None:
        return settings.admin_key.get_secret_value()
    path = settings.state_dir / ADMIN_KEY_FILE
    if not path.exists():
        secret = ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)
        if _write_secret(path, secret):
            log.info("admin_key_created", path=str(path))
            _announce("Threadline admin key", secret, path)
            return secret
    return read_secret(path)


def token_secret(settings: Settings) -> str:
    """THREADLINE_TOKEN_SECRET, else the one kept in state_dir/token-secret, made on first
    start. Unlike the keys, it is never printed: nobody but this server needs it."""
    if settings.token_secret is not None:
        return settings.token_secret.get_secret_value()
    path = settings.state_dir / TOKEN_SECRET_FILE
    # 384 bits, above HS256's 256.
    if not path.exists() and _write_secret(path, secrets.token_urlsafe(48)):
        log.info("token_secret_created", path=str(path))
    return read_secret(path)


async def ensure_dev_key(settings: Settings) -> str | None:
    """The `default` project, and while it has no key at all, a key for it kept in
    state_dir/dev-key. Returns the kept key, if this server can read one."""
    path = settings.state_dir / DEV_KEY_FILE
    project = await ensure_default_project()
    if await api_key.count_keys(project.id) == 0:
        _, secret = await api_key.create_api_key(project.id, "dev")
        path.unlink(missing_ok=True)
        _write_secret(path, secret)
        log.info("dev_key_created", project_id=project.id, path=str(path))
        _announce("Threadline dev key (project `default`)", secret, path)
        return secret
    return read_secret(path) if path.exists() else None
