"""code_interpreter's sandbox: what a call costs against a bare `python -c` of the same code,
and how many idle sessions one worker holds within 2 GB.

Everything runs here, on real processes: the sandbox's own Python (THREADLINE_SANDBOX_PYTHON,
default .venv-sandbox/bin/python) in bubblewrap with the jail the server uses
(engine/sandbox/jail.py, the default THREADLINE_SANDBOX_* limits), driven by the pool and
sessions the worker uses (engine/sandbox/pool.py, session.py).

1. Latency, for each snippet (`--rounds` rounds, the three timings interleaved in each):
   - bare: `subprocess.run([python, "-I", "-c", code])` with the same Python and the same
     isolated mode as the sandbox's runner, unconfined (its
     matplotlib font list built before the first round, as the sandbox's is at install);
   - first call in a new thread: a new session started (bwrap, namespaces, seccomp, the
     runner) and the code run in it, until its result is in;
   - warm call: the same code again in a session that has run it before.
   Reported: the medians, and first ÷ bare and warm ÷ bare.
2. Memory: `--sessions` sessions started at once, each after one call of a snippet, idle;
   their processes' proportional set size (PSS, /proc/<pid>/smaps_rollup: shared pages split
   between the processes sharing them) summed, per session, and how many such sessions fit in
   2 GB. MB is 2^20 bytes.
"""

# ruff: noqa: T201

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from app.settings import Settings
from engine.engine import _limits
from engine.sandbox.jail import Jail
from engine.sandbox.pool import SandboxPool
from engine.sandbox.session import Session

SNIPPETS = {
    "print": "print(sum(range(1000)))",
    "pandas": "import pandas as pd\nprint(pd.DataFrame({'a': range(100)}).describe())",
    "chart": "import matplotlib.pyplot as plt\nplt.plot(range(10))\nplt.savefig('/tmp/c.png')",
}
BUDGET_BYTES = 2 * 1024**3
# The bare runs' matplotlib folder: its font list built once, as the sandbox's is at install.
WARM_MATPLOTLIB = Path(tempfile.mkdtemp(prefix="bench-matplotlib-"))
MB = 1024 * 1024


async def ignore(piece: str) -> None:
    pass


def bare(python: Path, code: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(python.absolute()), "-I", "-c", code],  # as the runner: no cwd on sys.path
        check=True,
        capture_output=True,
        cwd=WARM_MATPLOTLIB,
        env={
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(WARM_MATPLOTLIB),
            "OPENBLAS_NUM_THREADS": "1",
            "PATH": "/usr/bin:/bin",
        },
    )
    return time.perf_counter() - started


async def first_call(jail: Jail, code: str) -> tuple[float, Session]:
    started = time.perf_counter()
    session = Session(jail, "bench")
    await session.start()
    result = await session.execute(code, ignore)
    elapsed = time.perf_counter() - started
    assert result.error is None, result.logs
    return elapsed, session


async def warm_call(session: Session, code: str) -> float:
    started = time.perf_counter()
    result = await session.execute(code, ignore)
    assert result.error is None, result.logs
    return time.perf_counter() - started


def pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def session_pids(session: Session) -> list[int]:
    assert session.process is not None
    return [session.process.pid, *session._processes()]


async def latency(jail: Jail, python: Path, rounds: int) -> None:
    print(
        f"{'snippet':8} {'bare':>9} {'first':>9} {'warm':>9} {'first/bare':>11} {'warm/bare':>10}"
    )
    for name, code in SNIPPETS.items():
        timings: dict[str, list[float]] = {"bare": [], "first": [], "warm": []}
        for _ in range(rounds):
            timings["bare"].append(bare(python, code))
            elapsed, session = await first_call(jail, code)
            timings["first"].append(elapsed)
            timings["warm"].append(await warm_call(session, code))
            await session.close()
        median = {kind: statistics.median(values) for kind, values in timings.items()}
        print(
            f"{name:8} {median['bare'] * 1000:7.1f}ms {median['first'] * 1000:7.1f}ms "
            f"{median['warm'] * 1000:7.1f}ms {median['first'] / median['bare']:10.2f}x "
            f"{median['warm'] / median['bare']:9.3f}x"
        )


async def memory(jail: Jail, count: int) -> None:
    for name, code in SNIPPETS.items():
        pool = SandboxPool(jail, max_sessions=count, idle_seconds=3600)
        try:
            for index in range(count):
                async with pool.session(f"thread-{index}") as session:
                    result = await session.execute(code, ignore)
                    assert result.error is None, result.logs
            total = sum(pss_bytes(pid) for s in pool.sessions.values() for pid in session_pids(s))
        finally:
            await pool.stop()
        each = total / count
        print(
            f"{name:8} {count} idle sessions: {total / MB:7.1f} MB PSS, {each / MB:6.1f} MB each"
            f" → {int(BUDGET_BYTES // each)} sessions in 2 GB"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sessions", type=int, default=8)
    args = parser.parse_args()
    settings = Settings()
    jail = Jail(settings.sandbox_python, _limits(settings))
    if why := jail.problem():
        raise SystemExit(f"no sandbox here: {why}")
    print(f"code_interpreter: {args.rounds} rounds, medians (sandbox Python {jail.python})")
    await latency(jail, jail.python, args.rounds)
    print()
    await memory(jail, args.sessions)


if __name__ == "__main__":
    asyncio.run(main())
