"""Workers: claim runs with a lease, heartbeat it, execute, and give runs back on shutdown.

`THREADLINE_WORKERS` of them run inside the server; `threadline worker` runs them in
processes of their own. A worker that dies keeps its lease until it runs out; then any
other worker claims the run, and the fence refuses the dead worker's late writes."""

import asyncio
import contextlib

import structlog
from pymongo.errors import PyMongoError

from app import metrics, tracing
from engine.executor import Executor
from engine.expiry import expire_overdue
from engine.stop import Stop
from models.base import utcnow
from models.liveness import process, reap_dead_processes
from models.run import RunDocument, claim_next, extend_lease, release_lease

log = structlog.get_logger(__name__)
# Runs queued in this process wake its workers at once; the poll finds the others' runs
# (and expired leases). Each poll is a write attempt, so not too often.
POLL_SECONDS = 1.0
UPKEEP_EVERY_SECONDS = 1.0  # dead processes reaped, overdue runs expired
# After the drain time, stopped runs get this long to finish their current write.
STOP_GRACE_SECONDS = 10.0


class WorkerPool:
    def __init__(self, executor: Executor, concurrency: int, lease_seconds: float) -> None:
        self.executor = executor
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.owner = process.name
        self.running: dict[str, asyncio.Task[None]] = {}
        self.stops: dict[str, Stop] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Also after `stop`: the pool claims runs again."""
        self._stopping = False
        if self.concurrency > 0:
            self._loop = asyncio.create_task(self._claim_loop())
            log.info("workers_started", owner=self.owner, concurrency=self.concurrency)

    def wake(self) -> None:
        """A run was queued in this process: claim it now rather than at the next poll."""
        self._wake.set()

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """SIGTERM: claim nothing more, let running runs finish for a while, then give the
        rest back (their lease is released, so another worker continues them at once)."""
        self._stopping = True
        self._wake.set()
        if self._loop is not None:
            await self._loop
        tasks = list(self.running.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=drain_seconds)
        for stop in self.stops.values():
            stop.set("shutdown")
        if pending:
            _, stuck = await asyncio.wait(pending, timeout=STOP_GRACE_SECONDS)
            for task in stuck:  # a write that hangs: its lease runs out instead
                task.cancel()
            if stuck:  # bounded too: a task slow to take its cancellation never holds a stop
                _, unended = await asyncio.wait(stuck, timeout=STOP_GRACE_SECONDS)
                if unended:
                    log.warning("worker_stop_left_runs", runs=len(unended))

    async def _claim_loop(self) -> None:
        last_upkeep = 0.0
        clock = asyncio.get_running_loop().time
        while not self._stopping:
            self._wake.clear()
            try:
                # Once a second, however often runs wake the loop: a dead process's open
                # transactions would hold its runs, so they are undone before any claim.
                if clock() - last_upkeep > UPKEEP_EVERY_SECONDS:
                    last_upkeep = clock()
                    await reap_dead_processes()
                    await expire_overdue()
                while len(self.running) < self.concurrency and not self._stopping:
                    run = await claim_next(self.owner, self.lease_seconds)
                    if run is None:
                        break
                    self._start(run)
            except PyMongoError as error:
                log.warning("worker_database_error", error=str(error))
            except Exception:  # never let the loop die: this process would claim nothing more
                log.exception("worker_claim_loop_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    def _start(self, run: RunDocument) -> None:
        log.info("run_claimed", run_id=run.id, fence=run.fence, status=run.status)
        if run.status != "queued":
            metrics.RUN_TAKEOVERS.inc()  # its worker stopped: shut down, died or stalled
        elif run.fence == 1:  # its first claim (tool outputs queue it again)
            metrics.RUN_QUEUE_SECONDS.observe((utcnow() - run.created_at).total_seconds())
        self.running[run.id] = asyncio.create_task(self._execute(run))

    async def _execute(self, run: RunDocument) -> None:
        stop = self.stops[run.id] = Stop()
        heartbeat = asyncio.create_task(self._heartbeat(run, stop))
        try:
            with (
                tracing.run_execution(run),
                metrics.held(metrics.RUNS_IN_PROGRESS),
            ):
                await self.executor.execute(run, stop)
            if stop.reason == "shutdown":
                await release_lease(run.id, run.fence)
                log.info("run_released", run_id=run.id)
        finally:
            heartbeat.cancel()
            self.running.pop(run.id, None)
            self.stops.pop(run.id, None)
            self._wake.set()

    async def _heartbeat(self, run: RunDocument, stop: Stop) -> None:
        """Extends the lease, and stops the run when it is cancelled or lost."""
        interval = min(0.5, self.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                status = await extend_lease(run.id, run.fence, self.lease_seconds)
            except PyMongoError as error:
                log.warning("heartbeat_failed", run_id=run.id, error=str(error))
                continue
            if status is None or status == "cancelling":
                stop.set("lost" if status is None else "cancel")
                return
