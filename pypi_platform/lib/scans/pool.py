"""Worker processes that run scan jobs under hard limits, so no package can hang, exhaust or crash the scan.

Why: packages that hang block workers, orphaned subprocesses exhaust memory, a deep
expression raises MemoryError or crashes CPython's parser outright, and Aura's memory limit was never applied.
So every job runs in a long-lived worker process that, at start:

- becomes the leader of its own process group (``os.setsid``), so one kill takes the job's children too;
- caps its address space (``RLIMIT_AS``), disables core dumps (``RLIMIT_CORE``) and, with
  ``forbid_file_writes``, caps file size at zero (``RLIMIT_FSIZE``, with SIGXFSZ ignored so a write raises
  ``OSError`` instead of killing the worker). The scanner never writes files, so this makes "nothing is
  written" a guarantee; an empty file can still be created, but never gets a byte;
- asks the kernel to SIGKILL it if the pool's process dies (Linux), so a hanging job cannot outlive a pool
  whose process was killed.

The parent hands out one job at a time per worker over a pipe and waits on all pipes and process sentinels at
once, with a wait bounded by the earliest deadline. A job past its wall-clock ``timeout`` gets its worker's
whole process group SIGKILLed. Every job ends in exactly one :class:`Outcome`:

======== ====================================================================================================
status   meaning
======== ====================================================================================================
ok       the function returned; ``result`` holds its value
error    it raised (``error`` is ``Type: message`` on one line), or its result could not be pickled or read;
         the worker goes on to the next job
timeout  no result within ``timeout`` seconds; the process group was killed
oom      ``MemoryError`` in the job, or the worker was SIGKILLed by someone other than the pool (the kernel's
         OOM killer)
crash    the worker died any other way (SIGSEGV, abort, ``os._exit``); ``error`` names the signal or exit code
======== ====================================================================================================

A worker is replaced after ``max_jobs_per_worker`` jobs, after an oom, timeout or crash, and after a job that
left a thread or a process running (processes in its group are killed with the worker). A job can still
leave other state behind for the next one in the same worker (imports, patched globals): targets should not.

Costs measured on a 2-core machine: starting a worker (spawn, interpreter start, imports, limits) ~50 ms;
a trivial job's round trip ~0.7 ms, ~0.5 ms of it the /proc scan for processes the job left running; a real
scan takes seconds, so neither matters.

Memory: a spawned worker maps ~20 MiB at baseline; at 24 MiB it still runs a trivial job, at 20 MiB it can no
longer import a module. Below ``MIN_MEMORY_BYTES`` (64 MiB) is refused as a mistake. Real scans want at least
256 MiB: every thread a job starts reserves its stack (8 MiB by default, more for a large-stack parser thread)
plus a 64 MiB glibc malloc arena of address space, and ``RLIMIT_AS`` counts reservations, not use.

Workers are started with ``spawn`` (never ``fork``: the caller may be a threaded Dagster process), so a job's
``target`` and ``args`` must be importable and picklable, and the parent's ``__main__`` is re-imported in
each worker as usual for spawn. Use a pool from one thread, within that thread's life: Linux delivers the
parent-death signal when the *thread* that started a worker ends. Closing the pool (or leaving its ``with``
block) kills and reaps every worker.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import multiprocessing
import os
import pickle
import resource
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

OK, ERROR, TIMEOUT, OOM, CRASH = "ok", "error", "timeout", "oom", "crash"
MIN_MEMORY_BYTES = 64 * 2**20

_READY = "ready"  # a worker's first message, once its limits are in place
_ERROR_CHARS = 300
_START_TIMEOUT = 60.0  # seconds for a new worker to come up; longer means the environment is broken
_EXIT_GRACE = 2.0  # seconds to wait for a worker whose pipe closed to finish dying by itself
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class Job:
    key: str  # e.g. a package name; unique within one map() call
    target: str  # "package.module:function", imported in the worker
    args: tuple = ()  # picklable


@dataclass(frozen=True)
class Outcome:
    key: str
    status: str  # "ok" | "error" | "timeout" | "oom" | "crash"
    started: float  # Unix epoch seconds when the job was handed to a worker
    duration: float  # seconds
    result: Any = None  # the function's return value when status == "ok"
    error: str = ""  # one line: exception type and message, or what killed the worker


class WorkerStartError(RuntimeError):
    """A worker died or hung before it could take a job: the environment is broken, not a package."""


def describe(exc: BaseException) -> str:
    """``Type: message`` on one line, short enough for a table cell."""
    try:
        message = str(exc)
    except Exception:  # an exception whose __str__ fails still deserves a name
        message = ""
    return _one_line(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


# --- inside the worker process ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    memory_bytes: int
    forbid_file_writes: bool
    parent_pid: int


def _worker_main(conn: Connection, limits: _Limits) -> None:
    """Confine this process, then run jobs one at a time until the pipe closes."""
    _confine(limits)
    conn.send_bytes(pickle.dumps(_READY))
    while True:
        try:
            request = conn.recv_bytes()
        except EOFError:  # the pool closed the pipe or died
            return
        except MemoryError:  # the job's arguments alone do not fit; the stream is now unusable, so leave
            _reply(conn, OOM, "MemoryError: the job's arguments do not fit in the memory limit")
            return
        status, payload = _run(request)
        _reply(conn, status, payload)


def _confine(limits: _Limits) -> None:
    os.setsid()  # first, so that everything started from here on dies with the group
    _die_with_parent(limits.parent_pid)
    _set_limit(resource.RLIMIT_AS, limits.memory_bytes)
    _set_limit(resource.RLIMIT_CORE, 0)
    if limits.forbid_file_writes:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # exceeding RLIMIT_FSIZE raises instead of killing
        _silence_regular_file_outputs()
        _set_limit(resource.RLIMIT_FSIZE, 0)


def _set_limit(which: int, value: int) -> None:
    """Set both soft and hard limit, so the job cannot raise it back; an inherited lower hard limit wins."""
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _silence_regular_file_outputs() -> None:
    """Point stdout and stderr at /dev/null when they are regular files (a log file, pytest's capture).

    With RLIMIT_FSIZE at zero every print or warning would otherwise raise inside the job. Pipes and
    terminals are not files, so they are kept.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                is_file = stat.S_ISREG(os.fstat(fd).st_mode)
            except OSError:  # closed descriptor
                continue
            if is_file:
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this worker when the pool's process dies, so a hanging job is not orphaned."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # only here: the parent never needs it

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request was in place
        os._exit(1)


def _run(request: bytes) -> tuple[str, Any]:
    """The job's status and its result (ok) or one-line error; never raises."""
    try:
        target, args = pickle.loads(request)
        return OK, _resolve(target)(*args)
    except MemoryError as exc:
        return OOM, describe(exc)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from a job are that job's errors too
        return ERROR, describe(exc)


def _resolve(target: str) -> Any:
    module_name, sep, attribute_path = target.partition(":")
    if not sep or not module_name or not attribute_path:
        raise ValueError(f"target {target!r} is not 'package.module:function'")
    found: Any = importlib.import_module(module_name)
    for attribute in attribute_path.split("."):
        found = getattr(found, attribute)
    return found


def _reply(conn: Connection, status: str, payload: Any) -> None:
    _reap_finished_children()
    left_running = threading.active_count() > 1 or _group_has_other_processes()
    try:
        data = pickle.dumps((status, payload, left_running), protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = pickle.dumps((OOM, "MemoryError while pickling the result", left_running))
    except BaseException as exc:  # pickling runs arbitrary __reduce__ code
        data = pickle.dumps((ERROR, "result could not be pickled: " + describe(exc), left_running))
    conn.send_bytes(data)


def _reap_finished_children() -> None:
    """Collect children the job started and never waited for, so they do not count as left running."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _group_has_other_processes() -> bool:
    """Whether a process the job started is still alive in this worker's process group (Linux /proc)."""
    group, me = os.getpgid(0), os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:
                line = stat_file.read()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
        fields = line[line.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == group and fields[0] != b"Z":
            return True
    return False


# --- in the pool's process -------------------------------------------------------------------------------


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing.Process from the spawn context
    conn: Connection
    start_deadline: float  # monotonic
    ready: bool = False
    jobs_done: int = 0
    job: Job | None = None
    job_started: float = 0.0  # epoch, reported
    job_clock: float = 0.0  # monotonic, for duration and deadline
    process_exitcode: int | None = None  # kept once retired, when the process object is closed


@dataclass
class _Feed:
    """Jobs pulled from the caller's iterable only as slots free up, plus any handed back after a dead pipe."""

    source: Iterator[Job]
    waiting: collections.deque[Job] = field(default_factory=collections.deque)
    exhausted: bool = False

    def top_up(self, count: int) -> None:
        while len(self.waiting) < count and not self.exhausted:
            try:
                self.waiting.append(next(self.source))
            except StopIteration:
                self.exhausted = True

    @property
    def empty(self) -> bool:
        return self.exhausted and not self.waiting


class WorkerPool:
    """Long-lived, confined worker processes; ``map`` yields one :class:`Outcome` per job, in completion order."""

    def __init__(
        self,
        workers: int = 2,
        *,
        timeout: float = 300.0,
        memory_bytes: int = 2 * 2**30,
        forbid_file_writes: bool = True,
        max_jobs_per_worker: int = 1000,
    ):
        if workers < 1 or max_jobs_per_worker < 1:
            raise ValueError("workers and max_jobs_per_worker must be at least 1")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if memory_bytes < MIN_MEMORY_BYTES:
            raise ValueError(f"memory_bytes below {MIN_MEMORY_BYTES} leaves a worker no room to run a job")
        self._size = workers
        self._timeout = timeout
        self._max_jobs = max_jobs_per_worker
        self._limits = _Limits(memory_bytes, forbid_file_writes, os.getpid())
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._mapping = False
        self._closed = False

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill and reap every worker, with whatever its job had started."""
        self._closed = True
        for worker in list(self._workers):
            self._retire(worker)

    def map(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        """Run ``jobs`` on the workers; yield exactly one Outcome per job as each finishes. Never raises for a job."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        if self._mapping:
            raise RuntimeError("map() is already running on this pool")
        return self._map(_Feed(iter(jobs)))

    def _map(self, feed: _Feed) -> Iterator[Outcome]:
        self._mapping = True
        try:
            while True:
                yield from self._dispatch(feed)
                if feed.empty and not self._busy():
                    return
                yield from self._collect()
        finally:
            # The caller stopped early (or an error escaped): nobody wants these jobs' outcomes any more.
            self._mapping = False
            for worker in self._busy():
                self._retire(worker)

    # --- handing out jobs

    def _dispatch(self, feed: _Feed) -> list[Outcome]:
        """Start the workers the waiting jobs need and hand a job to every idle worker."""
        outcomes: list[Outcome] = []
        while True:  # each round hands a job over, settles one without a worker, or retires a dead worker
            feed.top_up(self._size - len(self._busy()))
            while len(self._workers) < min(self._size, len(self._busy()) + len(feed.waiting)):
                self._start_worker()
            idle = self._idle()
            if not idle or not feed.waiting:
                return outcomes
            job = feed.waiting.popleft()
            try:
                request = pickle.dumps((job.target, job.args), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # the job's own error, found before any worker sees it
                error = "arguments could not be pickled: " + describe(exc)
                outcomes.append(Outcome(job.key, ERROR, time.time(), 0.0, error=error))
                continue
            if not self._hand_over(idle[0], job, request):
                feed.waiting.appendleft(job)  # the worker had died idle; the job never ran

    def _start_worker(self) -> None:
        parent_end, worker_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main, args=(worker_end, self._limits), name="scan-worker", daemon=True
        )
        process.start()
        worker_end.close()  # the worker holds its own copy; closing ours lets its death read as end-of-file
        self._workers.append(_Worker(process, parent_end, time.monotonic() + _START_TIMEOUT))

    def _hand_over(self, worker: _Worker, job: Job, request: bytes) -> bool:
        worker.job, worker.job_started, worker.job_clock = job, time.time(), time.monotonic()
        try:
            worker.conn.send_bytes(request)
        except OSError:
            worker.job = None
            self._retire(worker)
            return False
        return True

    # --- waiting for results

    def _collect(self) -> list[Outcome]:
        """Wait for the next results, deaths or deadline, and turn them into outcomes."""
        owners: dict[Any, _Worker] = {}
        for worker in self._workers:
            owners[worker.conn] = worker
            owners[worker.process.sentinel] = worker
        ready = wait(list(owners), timeout=self._seconds_to_next_deadline())
        outcomes: list[Outcome] = []
        for worker in dict.fromkeys(owners[item] for item in ready):
            outcomes.extend(self._service(worker))
        outcomes.extend(self._expire())
        return outcomes

    def _seconds_to_next_deadline(self) -> float | None:
        deadlines = [w.job_clock + self._timeout for w in self._workers if w.job is not None]
        deadlines += [w.start_deadline for w in self._workers if not w.ready]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _service(self, worker: _Worker) -> list[Outcome]:
        if worker.conn.poll():  # a message, or end-of-file
            try:
                data = worker.conn.recv_bytes()
            except (EOFError, OSError):
                return self._on_death(worker)
            return self._on_message(worker, data)
        return self._on_death(worker)  # not the pipe, so the sentinel: the process is exiting

    def _on_message(self, worker: _Worker, data: bytes) -> list[Outcome]:
        if not worker.ready:
            worker.ready = True
            return []
        if worker.job is None:  # nothing was asked; a worker that talks out of turn is not trusted further
            self._retire(worker)
            return []
        try:
            status, payload, left_running = pickle.loads(data)
        except Exception as exc:  # the result pickled in the worker but cannot be rebuilt here
            status, payload, left_running = ERROR, "result could not be read: " + describe(exc), False
        if status == OK:
            outcome = self._finish(worker, OK, result=payload)
        else:
            outcome = self._finish(worker, status, error=payload)
        worker.jobs_done += 1
        if status == OOM or left_running or worker.jobs_done >= self._max_jobs:
            self._retire(worker)  # with it go any processes the job left running
        return [outcome]

    def _on_death(self, worker: _Worker) -> list[Outcome]:
        # Wait on the sentinel, not join(): an exited but unreaped worker keeps its pid, and so its group id,
        # from being reused until _retire has killed whatever the job left in the group.
        exited = bool(wait([worker.process.sentinel], _EXIT_GRACE))
        self._retire(worker)
        exitcode = worker.process_exitcode if exited else None  # None: it only closed its pipe
        if not worker.ready:
            raise WorkerStartError(f"a worker died while starting ({_death_reason(exitcode)})")
        if worker.job is None:
            return []  # died idle (say the OOM killer chose it); a new one starts when there is work
        status = OOM if exitcode == -signal.SIGKILL else CRASH
        return [self._finish(worker, status, error=_death_reason(exitcode))]

    def _expire(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.conn.poll():  # its message arrived in time; the next round reads it
                continue
            if worker.job is not None and now >= worker.job_clock + self._timeout:
                error = f"no result within {self._timeout:g} s; the worker's process group was killed"
                outcomes.append(self._finish(worker, TIMEOUT, error=error))
                self._retire(worker)
            elif not worker.ready and now >= worker.start_deadline:
                self._retire(worker)
                raise WorkerStartError(f"a worker did not start within {_START_TIMEOUT:g} s")
        return outcomes

    def _finish(self, worker: _Worker, status: str, result: Any = None, error: str = "") -> Outcome:
        job, worker.job = worker.job, None
        assert job is not None
        duration = time.monotonic() - worker.job_clock
        return Outcome(job.key, status, worker.job_started, duration, result, _one_line(error))

    # --- bookkeeping

    def _busy(self) -> list[_Worker]:
        return [w for w in self._workers if w.job is not None]

    def _idle(self) -> list[_Worker]:
        return [w for w in self._workers if w.ready and w.job is None]

    def _retire(self, worker: _Worker) -> None:
        """SIGKILL the worker's whole process group, then reap the worker and forget it.

        Killing comes before reaping: until then the worker's pid, which is its group's id, cannot be reused.
        """
        with contextlib.suppress(
            ProcessLookupError, PermissionError
        ):  # no such group (not yet, or not any more)
            os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.kill()  # in case it had not made its own group yet; a no-op once reaped
        worker.process.join()
        worker.process_exitcode = worker.process.exitcode
        worker.conn.close()
        worker.process.close()
        self._workers.remove(worker)


def _death_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "the worker closed its pipe and was killed"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        if exitcode == -signal.SIGKILL:
            return f"the worker was killed by {name}, not sent by the pool (likely the kernel's OOM killer)"
        return f"the worker was killed by {name}"
    return f"the worker exited with code {exitcode}"
