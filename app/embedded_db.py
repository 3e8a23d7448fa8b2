"""The embedded database: SecantusDB (a MongoDB wire-protocol server) run as a child process.

SecantusDB is GPL-2.0, so Threadline never imports it: it is started by command. The child
asks the kernel to SIGTERM it when its parent dies (PR_SET_PDEATHSIG), so a `kill -9` of the
server does not leave an orphan holding WiredTiger's lock on the data folder; a pidfile catches
the rest (an orphan from before, or a parent on a system without prctl).

The server that starts it holds a lock on state_dir/db.lock for as long as the database runs,
so a second server on the same folder is refused instead of stopping a live owner's database.
"""

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import structlog

from app.processes import die_with_parent, free_port, is_listening

log = structlog.get_logger(__name__)

MEMORY = ":memory:"
LOCK_FILE = "db.lock"
PID_FILE = "db.pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _live_owner(record: str) -> tuple[int | None, str | None]:
    """The pid and address the lock's holder wrote down, or none while it has not yet (the
    file is empty then, or still names a dead server)."""
    try:
        owner = json.loads(record)
        pid, address = int(owner["pid"]), str(owner["address"])
    except (ValueError, KeyError, TypeError):
        return None, None
    return (pid, address) if _pid_alive(pid) else (None, None)


class DatabaseInUse(RuntimeError):
    """A live server holds the data folder's lock: its database must be left alone."""

    def __init__(self, storage: str, pid: int | None, address: str | None) -> None:
        self.pid = pid
        self.address = address
        owner = f"pid {pid}, {address}" if pid else "still starting"
        super().__init__(f"another Threadline server ({owner}) owns the database in {storage}")


class EmbeddedDatabase:
    """Starts, waits for and stops one SecantusDB process.

    `owner`: the address of the server it is started for, written into the lock file so that
    a second server's refusal can name it.
    """

    def __init__(self, storage: Path | str, host: str = "127.0.0.1", owner: str = "") -> None:
        self.storage = str(storage)
        self.host = host
        self.owner = owner
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._lock: TextIO | None = None

    @property
    def uri(self) -> str:
        # No retryable writes: they guard against failovers, which a one-node database never
        # has, and this one keeps a 30-minute record of each, pruned (and sorted past 10,000)
        # on every write: inserts slowed from ~2,000/s to ~200/s (bench/README.md).
        return f"mongodb://{self.host}:{self.port}/?directConnection=true&retryWrites=false"

    def _state_file(self, name: str) -> Path | None:
        return None if self.storage == MEMORY else Path(self.storage).parent / name

    @property
    def _pidfile(self) -> Path | None:
        return self._state_file(PID_FILE)

    def claim(self) -> None:
        """Locks the data folder for this process until `stop()`; DatabaseInUse if another has.

        A flock, not the pidfile, tells a live owner from a dead one: the kernel drops it when
        its holder exits, even by `kill -9`, and of two servers starting at once only one gets
        it. The database child never holds it (Python's files are not inherited), so once its
        server is dead, a database still running on the folder is an orphan.
        """
        path = self._state_file(LOCK_FILE)
        if path is None or self._lock is not None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            pid, address = _live_owner(lock.read())
            lock.close()
            raise DatabaseInUse(self.storage, pid, address) from None
        # Rewritten, never deleted: a server locking a file that was unlinked would own nothing.
        lock.truncate(0)
        lock.write(json.dumps({"pid": os.getpid(), "address": self.owner}))
        lock.flush()
        self._lock = lock

    def start(self, timeout: float = 60.0) -> str:
        if self.storage != MEMORY:
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        self.claim()
        self._stop_orphan()
        self.port = self.port or free_port(self.host)  # started again: where it was before
        command = [sys.executable, "-m", "secantus", "--host", self.host]
        command += ["--port", str(self.port), "--storage-path", self.storage]
        command += ["--log-level", "WARNING"]
        # A session of its own: Ctrl-C reaches the server, which then stops the database cleanly.
        self._process = subprocess.Popen(
            command, preexec_fn=die_with_parent, start_new_session=True
        )
        if self._pidfile:
            self._pidfile.write_text(str(self._process.pid))
        self._wait_until_listening(timeout)
        log.info("embedded_database_started", port=self.port, storage=self.storage)
        return self.uri

    def _wait_until_listening(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while not is_listening(self.host, self.port):
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the embedded database exited with code {self._process.returncode}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the embedded database did not start in time")
            time.sleep(0.05)

    def _stop_orphan(self) -> None:
        """Stops a database left running on this folder by a server that was killed.

        Called holding the folder's lock, so the server that started it is dead.
        """
        pidfile = self._pidfile
        if pidfile is None or not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (ValueError, OSError):
            pidfile.unlink(missing_ok=True)
            return
        if b"secantus" in cmdline and self.storage.encode() in cmdline:
            log.warning("embedded_database_orphan_stopped", pid=pid)
            _terminate(pid)
        pidfile.unlink(missing_ok=True)

    def stop(self, timeout: float = 15.0) -> None:
        if self._process is not None:
            _terminate(self._process.pid, timeout, self._process)
            self._process = None
            if self._pidfile:
                self._pidfile.unlink(missing_ok=True)
            log.info("embedded_database_stopped")
        # Last: no other server may start on the folder while this database is still running.
        if self._lock is not None:
            self._lock.truncate(0)
            self._lock.close()
            self._lock = None


def _terminate(
    pid: int, timeout: float = 15.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """SIGTERM (a clean WiredTiger shutdown), then SIGKILL after `timeout` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not _pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if process is not None:
        process.wait()
