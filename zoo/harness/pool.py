"""Worker processes that run units: a local pool, and the one-worker supervisor a Ray task uses.

A worker is ``python -m zoo.harness.worker`` talking to its driver over a socket pair
(:mod:`zoo.harness.worker`). It starts once, loads the plugins, and then runs unit after
unit. When a worker exits, is killed or crashes before it answers, the unit gets the cause
(``exit code 0 before returning``, ``signal 11 (SIGSEGV)``), the worker is replaced, and the
unit is run again on a fresh worker up to ``retries`` times (a crash may be the machine's,
not the method's); a unit that runs past its timeout is killed with its worker and is not
retried (it would time out again). The pool never raises for what a unit does.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from zoo.harness.worker import ProtocolError, recv, send
from zoo.processes import exit_cause

#: a worker that has not said it is ready after this long is treated as dead
START_TIMEOUT = float(os.environ.get("ZOO_WORKER_START_TIMEOUT", "600"))
#: a worker that could not start this many times in a row ends the pool: every unit left fails
MAX_START_FAILURES = 3


@dataclass
class Job:
    """One unit to run: its request (:mod:`zoo.harness.worker`), timeout and attempts so far."""

    id: int
    request: dict
    timeout: float
    retries: int = 1
    attempts: int = 0
    causes: list[str] = field(default_factory=list)


@dataclass
class Answer:
    """What came back for a job: the worker's header and blobs, or ``error`` when it gave none."""

    job: Job
    header: dict
    blobs: list[bytes]
    error: str | None = None  # the unit failed without an answer (worker died, timed out)

    @property
    def where(self) -> dict:
        return self.header.get("where", {})


class Worker:
    """One worker process and its end of the socket pair."""

    def __init__(self, wid: str, threads: int = 1, memory: int = 0, env: dict | None = None,
                 sys_path: list[str] | None = None) -> None:
        self.id = wid
        parent, child = socket.socketpair()
        env = {**os.environ, **(env or {}), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
               "OPENBLAS_NUM_THREADS": str(threads)}
        if sys_path:
            env["ZOO_WORKER_SYS_PATH"] = json.dumps(sys_path)
        cmd = [sys.executable, "-m", "zoo.harness.worker", "--fd", str(child.fileno()), "--parent", str(os.getpid()),
               "--id", wid, "--threads", str(threads), "--memory", str(int(memory))]
        self.proc = subprocess.Popen(cmd, pass_fds=(child.fileno(),), env=env, cwd=os.getcwd(), stdin=subprocess.DEVNULL)
        child.close()
        self.sock = parent
        self.started = time.monotonic()
        self.ready = False
        self.info: dict = {}
        self.job: Job | None = None
        self.since = 0.0  # when the current job was sent

    def send_job(self, job: Job) -> None:
        self.job, self.since = job, time.monotonic()
        job.attempts += 1
        send(self.sock, job.request)

    def kill(self) -> int | None:
        """Kill the process (if alive) and reap it; its exit status."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        self.sock.close()
        return rc

    def died(self) -> str:
        """The cause, once the socket says the worker is gone."""
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # closed its socket but lives on: end it
            rc = self.kill()
            return f"closed its connection and was killed ({exit_cause(rc)})"
        self.sock.close()
        return exit_cause(rc)

    def stop(self) -> None:
        try:
            send(self.sock, {"op": "stop"})
        except OSError:
            pass


def _failed(job: Job, cause: str) -> str:
    tries = f"; the unit ran {job.attempts} times, on a fresh worker each time" if job.attempts > 1 else ""
    return f"WorkerDied: the worker running this unit ended: {cause}{tries}"


class LocalPool:
    """Up to ``size`` worker processes on this machine, each running one unit at a time."""

    def __init__(self, size: int, threads: int = 1, memory: int = 0, log: Callable[[str], None] = print,
                 sys_path: list[str] | None = None) -> None:
        self.size, self.threads, self.memory, self.log = max(1, size), threads, memory, log
        self.sys_path = sys_path
        self.workers: list[Worker] = []
        self._n = 0
        self.start_failures = 0
        self.started = 0

    def _spawn(self) -> Worker:
        self._n += 1
        self.started += 1
        return Worker(f"local-{self._n}", self.threads, self.memory, sys_path=self.sys_path)

    def run(self, jobs: list[Job], on_answer: Callable[[Answer], None]) -> None:
        """Run every job; ``on_answer`` is called in the driver as each lands (result or failure)."""
        queue = list(jobs)
        sel = selectors.DefaultSelector()
        want = min(self.size, len(queue))
        try:
            while queue or any(w.job for w in self.workers):
                while len(self.workers) < min(want, len(queue) + sum(1 for w in self.workers if w.job)):
                    w = self._spawn()
                    self.workers.append(w)
                    sel.register(w.sock, selectors.EVENT_READ, w)
                for w in self.workers:  # idle ready workers take the next job
                    if w.ready and w.job is None and queue:
                        try:
                            w.send_job(queue.pop(0))
                        except OSError:
                            pass  # it died meanwhile: the read below finds out
                now = time.monotonic()
                deadline = [w.since + w.job.timeout - now for w in self.workers if w.job]
                deadline += [w.started + START_TIMEOUT - now for w in self.workers if not w.ready]
                events = sel.select(timeout=max(0.05, min(deadline + [1.0])))
                for key, _ in events:
                    w = key.data
                    try:
                        header, blobs = recv(w.sock)
                    except (EOFError, OSError, ProtocolError, ValueError) as exc:
                        cause = w.died() if not isinstance(exc, ProtocolError) else f"broke the protocol ({exc})"
                        if isinstance(exc, ProtocolError):
                            w.kill()
                        self._lost(w, cause, sel, queue, on_answer)
                        continue
                    if header.get("ready"):
                        w.ready, w.info = True, header
                        self.start_failures = 0
                        continue
                    if header.get("started"):  # planned: the unit itself starts, and its timeout with it
                        w.since = time.monotonic()
                        continue
                    job, w.job = w.job, None
                    if job is not None:
                        on_answer(Answer(job, header, blobs))
                now = time.monotonic()
                for w in list(self.workers):
                    if w.job and now - w.since > w.job.timeout:
                        job = w.job
                        w.job = None
                        w.kill()
                        self._remove(w, sel)
                        self.log(f"[zoo] unit timed out after {job.timeout:g} s on worker {w.id}; worker killed and replaced")
                        on_answer(Answer(job, {"where": {**w.info.get("where", {}), "wall_s": round(now - w.since, 3)}}, [],
                                         error=f"UnitTimeout: timed out after {job.timeout:g} s (worker {w.id} killed; "
                                               f"raise the limit with --unit-timeout or the suite's `timeout:`)"))
                    elif not w.ready and now - w.started > START_TIMEOUT:
                        w.kill()
                        self._lost(w, f"did not start within {START_TIMEOUT:g} s", sel, queue, on_answer)
        finally:
            for w in self.workers:
                w.stop()
            for w in self.workers:
                try:
                    w.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                w.kill()
            self.workers = []
            sel.close()

    def _remove(self, w: Worker, sel: selectors.BaseSelector) -> None:
        try:
            sel.unregister(w.sock)
        except (KeyError, ValueError):
            pass
        if w in self.workers:
            self.workers.remove(w)

    def _lost(self, w: Worker, cause: str, sel, queue: list[Job], on_answer: Callable[[Answer], None]) -> None:
        """A worker is gone: its job is retried on a fresh worker or fails with the cause."""
        self._remove(w, sel)
        job, w.job = w.job, None
        if job is None:  # died before it was ready, or between jobs
            if not w.ready:
                self.start_failures += 1
                self.log(f"[zoo] worker {w.id} could not start: {cause}")
                if self.start_failures >= MAX_START_FAILURES:
                    while queue:
                        j = queue.pop(0)
                        on_answer(Answer(j, {}, [], error=f"WorkerStart: {MAX_START_FAILURES} workers in a row could not "
                                                          f"start (last: {cause}); see the log above"))
            return
        job.causes.append(cause)
        where = {**w.info.get("where", {}), "wall_s": round(time.monotonic() - w.since, 3)}
        if job.attempts <= job.retries:
            self.log(f"[zoo] worker {w.id} ended while running a unit ({cause}); running it again on a fresh worker "
                     f"(attempt {job.attempts + 1} of {job.retries + 1})")
            queue.insert(0, job)
            return
        self.log(f"[zoo] worker {w.id} ended while running a unit ({cause}); the unit failed")
        on_answer(Answer(job, {"where": where}, [], error=_failed(job, cause)))


class Supervisor:
    """One long-lived worker on this machine, for a Ray task: run a request with a timeout.

    Lives in a Ray worker process (one per process); the unit runs in its own child process,
    so a crash or a timeout ends that child, never the Ray worker, and the cause is exact.
    """

    def __init__(self, threads: int, memory: int = 0, node: str = "") -> None:
        self.threads, self.memory, self.node = threads, memory, node
        self.worker: Worker | None = None
        self._n = 0

    def _ready_worker(self, deadline: float) -> Worker:
        if self.worker is not None and self.worker.proc.poll() is None:
            return self.worker
        self._n += 1
        w = Worker(f"{self.node[:12] or 'ray'}-{os.getpid()}-{self._n}", self.threads, self.memory,
                   env={"ZOO_WORKER_NODE": self.node})
        w.sock.settimeout(max(1.0, deadline - time.monotonic()))
        try:
            header, _ = recv(w.sock)
        except socket.timeout:
            w.kill()
            raise RuntimeError(f"worker did not start within {START_TIMEOUT:g} s") from None
        except (EOFError, OSError, ProtocolError) as exc:
            raise RuntimeError(f"worker could not start: {w.died() if not isinstance(exc, ProtocolError) else exc}") from None
        w.ready, w.info = True, header
        self.worker = w
        return w

    def run(self, request: dict, timeout: float) -> tuple[dict, list[bytes]]:
        """The answer to ``request``; on a crash or timeout an answer with ``died`` or ``timeout`` set."""
        try:
            w = self._ready_worker(time.monotonic() + START_TIMEOUT)
        except RuntimeError as exc:
            return {"ok": False, "died": str(exc), "where": {"host": socket.gethostname(), "node": self.node}}, []
        t0 = time.monotonic()
        where = {**w.info.get("where", {})}
        try:
            send(w.sock, request)
            w.sock.settimeout(START_TIMEOUT)  # planning the benchmark on this node
            header, blobs = recv(w.sock)
            if header.get("started"):
                t0 = time.monotonic()
                w.sock.settimeout(timeout)
                header, blobs = recv(w.sock)
            w.sock.settimeout(None)
            return header, blobs
        except socket.timeout:
            w.kill()
            self.worker = None
            return {"ok": False, "timeout": timeout, "where": {**where, "wall_s": round(time.monotonic() - t0, 3)}}, []
        except (EOFError, OSError, ProtocolError) as exc:
            cause = w.died() if not isinstance(exc, ProtocolError) else f"broke the protocol ({exc})"
            w.kill()
            self.worker = None
            return {"ok": False, "died": cause, "where": {**where, "wall_s": round(time.monotonic() - t0, 3)}}, []
