"""The interpreter inside the sandbox: one per thread session, run by the sandbox's Python
(standard library only; nothing of Threadline is visible in there).

It keeps one namespace across calls, as a notebook does. Requests and replies each have a
pipe of their own (their numbers are in the setup argument): a JSON line, then `size` raw
bytes where the header has a size. The code's stdout and stderr are fds 1 and 2: one pipe
the supervisor reads live as the call's logs. After a call, the runner writes the call's
nonce to that pipe (so the supervisor knows the logs are complete), then its reply.

Everything this process says is untrusted: once the first call ran, the code may have changed
anything in here. The supervisor checks every reply (see engine/sandbox/session.py)."""

import ast
import io
import json
import os
import resource
import shutil
import sys
import traceback
from typing import Any

DATA = "/mnt/data"
FIGURE_FORMAT = "png"
MAX_OUTPUTS = 20  # files and figures one call may return
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def _apply_limits(limits: dict[str, int]) -> None:
    """Set before any code runs, soft and hard alike, so the code cannot raise them. The
    process count is counted in the sandbox's own user namespace: only its processes."""
    _limit(resource.RLIMIT_AS, limits["memory_bytes"])
    _limit(resource.RLIMIT_NPROC, limits["processes"])
    _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    _limit(resource.RLIMIT_NOFILE, limits["open_files"])
    _limit(resource.RLIMIT_CORE, 0)


def _snapshot() -> dict[str, tuple[int, int]]:
    """Every file under /mnt/data: its size and modification time."""
    found = {}
    for folder, _, names in os.walk(DATA):
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if os.path.isfile(path) and not os.path.islink(path):
                found[os.path.relpath(path, DATA)] = (info.st_size, info.st_mtime_ns)
    return found


def _reap() -> None:
    """Children of earlier calls: the supervisor killed them after their call, and their
    entries hold the process limit until they are waited for."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Runner:
    def __init__(self, requests: int, replies: int) -> None:
        self.requests = os.fdopen(requests, "rb")
        self.replies = os.fdopen(replies, "wb")
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.pid = os.getpid()

    def reply(self, header: dict[str, Any], payload: bytes = b"") -> None:
        self.replies.write(json.dumps(header).encode() + b"\n")
        self.replies.write(payload)
        self.replies.flush()

    def serve(self) -> None:
        self.reply({"op": "ready"})
        while line := self.requests.readline():
            request = json.loads(line)
            if request["op"] == "put":
                self.put(request["name"], request["size"])
            elif request["op"] == "exec":
                self.execute(request["code"], request["nonce"])

    def put(self, name: str, size: int) -> None:
        """A file into /mnt/data, copied a piece at a time as it comes. One that does not
        fit is taken off the pipe all the same, and its error said."""
        error = None
        path = os.path.join(DATA, name)
        with open(path, "wb") as out:
            while size:
                piece = self.requests.read(min(size, 1 << 20))
                if not piece:
                    raise EOFError("the supervisor went away mid-file")
                size -= len(piece)
                if error is None:
                    try:
                        out.write(piece)
                    except OSError as failed:
                        error = str(failed)
        if error is not None:
            os.unlink(path)
            self.reply({"op": "failed", "error": error})
        else:
            self.reply({"op": "ok"})

    def execute(self, code: str, nonce: str) -> None:
        _reap()
        before = _snapshot()
        error = self.run_cell(code)
        if os.getpid() != self.pid:
            # A child the code forked came back here: it must not speak for the runner.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0 if error is None else 1)
        outputs = [("image", name, data) for name, data in self.figures()]
        for name, (size, mtime) in sorted(_snapshot().items()):
            if before.get(name) != (size, mtime):
                kind = "image" if name.lower().endswith(IMAGE_SUFFIXES) else "file"
                outputs.append((kind, name, b""))
        if len(outputs) > MAX_OUTPUTS:
            left_out = ", ".join(name for _, name, _ in outputs[MAX_OUTPUTS:])
            sys.stderr.write(f"[At most {MAX_OUTPUTS} files come back per call; not: {left_out}]\n")
            outputs = outputs[:MAX_OUTPUTS]
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, nonce.encode())
        self.reply(
            {
                "op": "done",
                "error": error,
                "outputs": [{"kind": k, "name": n, "figure": bool(d)} for k, n, d in outputs],
            }
        )
        for _, name, data in outputs:
            if data:
                self.reply({"op": "blob", "name": name, "size": len(data)}, data)
            else:
                self.send_file(name)

    def send_file(self, name: str) -> None:
        """A file's bytes, a piece at a time (a file may be as large as the folder)."""
        try:
            source = open(os.path.join(DATA, name), "rb")  # noqa: SIM115  (closed below)
        except OSError:
            self.reply({"op": "blob", "name": name, "size": 0})
            return
        with source:
            size = os.fstat(source.fileno()).st_size
            self.replies.write(json.dumps({"op": "blob", "name": name, "size": size}).encode())
            self.replies.write(b"\n")
            left = size
            while left:
                piece = source.read(min(left, 1 << 20)) or b"\0" * min(left, 1 << 20)
                self.replies.write(piece)
                left -= len(piece)
            self.replies.flush()

    def run_cell(self, code: str) -> str | None:
        """Runs the code as a notebook cell (a last expression's value is printed); returns
        the error's last line, its traceback having gone to stderr."""
        try:
            tree = ast.parse(code, "<cell>")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body[-1].value)
                tree.body.pop()
            exec(compile(tree, "<cell>", "exec"), self.namespace)
            if last is not None:
                value = eval(compile(last, "<cell>", "eval"), self.namespace)
                if value is not None:
                    sys.stdout.write(repr(value) + "\n")
            return None
        except BaseException as error:  # the code's own errors, KeyboardInterrupt included
            lines = traceback.format_exception(error)
            # The runner's own frame is noise to the model.
            sys.stderr.write("".join(line for line in lines if "runner.py" not in line))
            return "".join(traceback.format_exception_only(error)).strip()

    def figures(self) -> list[tuple[str, bytes]]:
        """Open matplotlib figures (shown or not), as PNG, then closed: a notebook's inline
        display."""
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return []
        found = []
        try:
            for number in pyplot.get_fignums()[:MAX_OUTPUTS]:
                buffer = io.BytesIO()
                pyplot.figure(number).savefig(buffer, format=FIGURE_FORMAT)
                found.append((f"figure-{number}.{FIGURE_FORMAT}", buffer.getvalue()))
            pyplot.close("all")
        except Exception as error:
            sys.stderr.write(f"The figures could not be saved: {error}\n")
        return found


def _seed_matplotlib() -> None:
    """matplotlib's font list, built when the sandbox's venv was (`make install`): a new
    session's first chart does not spend half a second finding fonts again."""
    seed = os.path.join(sys.prefix, "matplotlib-cache")
    folder = os.environ.get("MPLCONFIGDIR")
    if folder and os.path.isdir(seed) and not os.path.exists(folder):
        shutil.copytree(seed, folder)


def main() -> None:
    setup = json.loads(sys.argv[1])
    _apply_limits(setup["limits"])
    _seed_matplotlib()
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the code's stdin is empty
    os.chdir(DATA)
    Runner(setup["requests"], setup["replies"]).serve()


if __name__ == "__main__":
    main()
