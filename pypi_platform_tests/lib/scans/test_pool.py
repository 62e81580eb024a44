"""The worker pool against jobs that fail every way a hostile package can make a scan fail.

Each test checks the pool keeps its promises: one outcome per job, the right status, limits really applied in
the worker, nothing left running afterwards. Timing is only ever checked for sanity, never for speed.
"""

import collections
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pypi_platform.lib.scans.pool import MIN_MEMORY_BYTES, Job, WorkerPool

TARGETS = "pypi_platform_tests.lib.scans.pool_targets:"
MEMORY = 512 * 2**20
SHORT_TIMEOUT = 1.0  # for the tests that wait for a timeout on purpose
GENEROUS_TIMEOUT = 30.0  # for everything else: a loaded machine must not turn a result into a timeout


def job(key, function, *args):
    return Job(key, TARGETS + function, args)


def outcomes_by_key(pool, jobs):
    outcomes = list(pool.map(jobs))
    keys = [outcome.key for outcome in outcomes]
    assert sorted(keys) == sorted(j.key for j in jobs), "every job gets exactly one outcome"
    return {outcome.key: outcome for outcome in outcomes}


def is_gone(pid):
    """Dead: no such process, or a zombie whose new parent (a container's init) never reaps it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def wait_until_gone(pid, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not is_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as shared:
        yield shared


def test_a_job_returns_its_result_with_when_and_how_long(pool):
    before = time.time()
    [outcome] = pool.map([job("requests", "echo", {"files": 3})])
    after = time.time()

    assert (outcome.key, outcome.status, outcome.result, outcome.error) == (
        "requests",
        "ok",
        {"files": 3},
        "",
    )
    assert before <= outcome.started <= after
    assert 0 <= outcome.duration <= after - before


@pytest.mark.parametrize(
    ("failing", "status", "error"),
    [
        (job("bad", "fail", "boom"), "error", "ValueError: boom"),
        (job("bad", "exit_interpreter", 3), "error", "SystemExit: 3"),
        (job("bad", "allocate", 2 * MEMORY), "oom", "MemoryError"),
        (job("bad", "killed_from_outside"), "oom", "SIGKILL"),
        (job("bad", "segfault"), "crash", "SIGSEGV"),
        (job("bad", "abort"), "crash", "SIGABRT"),
        (job("bad", "exit_now", 3), "crash", "exited with code 3"),
        (job("bad", "unpicklable"), "error", "result could not be pickled: TypeError: cannot pickle"),
        (job("bad", "unreadable"), "error", "result could not be read: RuntimeError: this result refuses"),
        (job("bad", "echo", lambda: None), "error", "arguments could not be pickled"),
        (Job("bad", "no_such_module:f"), "error", "ModuleNotFoundError: No module named 'no_such_module'"),
        (Job("bad", TARGETS + "no_such_function"), "error", "AttributeError"),
        (Job("bad", "no colon"), "error", "ValueError: target 'no colon' is not 'package.module:function'"),
    ],
    ids=lambda value: value.target.rpartition(":")[2] if isinstance(value, Job) else None,
)
def test_each_kind_of_failure_has_its_status_and_spares_the_other_jobs(pool, failing, status, error):
    outcomes = outcomes_by_key(pool, [failing, job("good", "echo", 1)])

    assert (outcomes["bad"].status, outcomes["bad"].result) == (status, None)
    assert error in outcomes["bad"].error
    assert (outcomes["good"].status, outcomes["good"].result) == ("ok", 1)


def test_later_jobs_still_succeed_after_every_kind_of_failure():
    failures = [
        ("fail", ("boom",), "error"),
        ("allocate", (2 * MEMORY,), "oom"),
        ("killed_from_outside", (), "oom"),
        ("segfault", (), "crash"),
        ("exit_now", (3,), "crash"),
        ("unpicklable", (), "error"),
        ("hang", (60,), "timeout"),
    ]
    jobs = []
    for number, (function, args, _) in enumerate(failures):
        jobs += [job(f"failure {number}", function, *args), job(f"after {number}", "echo", number)]

    # One worker, so every failure is followed by a job on the same worker or its replacement, in order.
    with WorkerPool(1, timeout=SHORT_TIMEOUT, memory_bytes=MEMORY) as one:
        outcomes = list(one.map(jobs))

    assert [o.key for o in outcomes] == [j.key for j in jobs]
    for number, (_, _, status) in enumerate(failures):
        assert outcomes[2 * number].status == status
        assert (outcomes[2 * number + 1].status, outcomes[2 * number + 1].result) == ("ok", number)


def test_timeout_kills_the_job_and_the_children_it_started(tmp_path):
    pid_path = tmp_path / "child.pid"
    # Writing the child's pid needs file writes; everything else about the worker is as usual.
    with WorkerPool(1, timeout=SHORT_TIMEOUT, memory_bytes=MEMORY, forbid_file_writes=False) as one:
        outcomes = outcomes_by_key(
            one, [job("hangs", "sleep_with_child", str(pid_path), 60), job("next", "echo", "still here")]
        )

    assert outcomes["hangs"].status == "timeout"
    assert "process group was killed" in outcomes["hangs"].error
    assert outcomes["next"].result == "still here"
    assert wait_until_gone(int(pid_path.read_text()))


def test_memory_limit_is_really_applied_in_the_worker(pool):
    outcomes = outcomes_by_key(
        pool,
        [
            job("limits", "limits"),
            job("twice the limit", "allocate", 2 * MEMORY),
            job("a quarter", "allocate", MEMORY // 4),
        ],
    )

    limits = outcomes["limits"].result
    assert limits["as"] == (MEMORY, MEMORY)  # soft and hard, so the job cannot raise it again
    assert limits["core"] == (0, 0)
    assert limits["fsize"] == (0, 0)
    assert outcomes["twice the limit"].status == "oom"
    assert (outcomes["a quarter"].status, outcomes["a quarter"].result) == ("ok", MEMORY // 4)


def test_the_pool_process_itself_is_not_limited(pool):
    list(pool.map([job("limits", "limits")]))

    assert resource.getrlimit(resource.RLIMIT_AS) != (MEMORY, MEMORY)


def test_a_worker_leads_its_own_process_group_and_session(pool):
    [outcome] = pool.map([job("group", "process_group")])

    group = outcome.result
    assert group["pid"] == group["pgid"] == group["sid"] != os.getpid()


def test_writing_a_file_fails_in_the_job_and_leaves_nothing_written(pool, tmp_path):
    target = tmp_path / "dropped.txt"
    [outcome] = pool.map([job("writer", "write_file", str(target))])

    assert outcome.status == "error"
    assert outcome.error == "OSError: [Errno 27] File too large"
    assert not target.exists() or target.stat().st_size == 0  # creating an empty file is not prevented


def test_file_writes_can_be_allowed(tmp_path):
    target = tmp_path / "written.txt"
    with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY, forbid_file_writes=False) as one:
        [outcome] = one.map([job("writer", "write_file", str(target))])

    assert outcome.status == "ok"
    assert target.read_text() == "written"


def test_printing_works_when_output_goes_to_a_file(capfd):
    # capfd points descriptors 1 and 2 at temporary files, as a log redirect would; with a zero file-size
    # limit, every print in a job would raise unless the worker sends that output elsewhere.
    with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as one:
        [outcome] = one.map([job("noisy", "noisy")])

    assert (outcome.status, outcome.result) == ("ok", "said it")


def test_an_error_keeps_the_worker_and_an_oom_replaces_it():
    jobs = [
        job("first", "worker_pid"),
        job("error", "fail", "boom"),
        job("after error", "worker_pid"),
        job("oom", "allocate", 2 * MEMORY),
        job("after oom", "worker_pid"),
    ]
    with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as one:
        outcomes = outcomes_by_key(one, jobs)

    assert outcomes["first"].result == outcomes["after error"].result
    assert outcomes["after oom"].result != outcomes["after error"].result


def test_workers_are_reused_and_replaced_after_max_jobs():
    with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY, max_jobs_per_worker=2) as one:
        pids = [o.result for o in one.map(job(str(n), "worker_pid") for n in range(5))]

    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert len(set(pids)) == 3


def test_a_child_left_running_is_killed_with_its_worker():
    jobs = [
        job("leaves a child", "leave_child_running", 60),
        job("next", "worker_pid"),
    ]
    with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as one:
        outcomes = outcomes_by_key(one, jobs)

    started = outcomes["leaves a child"].result
    assert outcomes["leaves a child"].status == "ok"
    assert wait_until_gone(started["child"])
    assert outcomes["next"].result != started["worker"]


def test_a_thread_left_running_costs_the_worker():
    with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as one:
        pids = [o.result for o in one.map([job("a", "leave_thread_running", 60), job("b", "worker_pid")])]

    assert pids[0] != pids[1]


def test_a_child_that_finished_does_not_cost_a_worker():
    with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as one:
        pids = [o.result for o in one.map([job("a", "run_child_to_completion"), job("b", "worker_pid")])]

    assert pids[0] == pids[1]


def test_every_job_gets_exactly_one_outcome_among_many_failures(pool):
    kinds = [("echo", ("fine",), "ok"), ("fail", ("no",), "error"), ("exit_now", (1,), "crash")]
    kinds.append(("allocate", (2 * MEMORY,), "oom"))
    jobs, expected = [], {}
    for number in range(24):
        function, args, status = kinds[number % len(kinds)]
        jobs.append(job(f"package-{number}", function, *args))
        expected[f"package-{number}"] = status

    outcomes = list(pool.map(jobs))

    assert collections.Counter(o.key for o in outcomes) == collections.Counter(expected.keys())
    assert {o.key: o.status for o in outcomes} == expected


def test_jobs_are_pulled_lazily(pool):
    pulled = []

    def jobs():
        for number in range(20):
            pulled.append(number)
            yield job(str(number), "echo", number)

    outcomes = pool.map(jobs())
    next(outcomes)
    assert len(pulled) <= 3  # two workers busy, at most one more pulled ahead
    assert len(list(outcomes)) == 19


def test_stopping_early_abandons_the_jobs_in_flight(pool):
    outcomes = pool.map([job("quick", "echo", 1), job("slow", "hang", 60)])
    assert next(outcomes).key == "quick"
    outcomes.close()

    # The hanging job's worker was killed: it cannot leak a late outcome into the next map.
    assert [o.key for o in pool.map([job("next", "echo", 2)])] == ["next"]


def test_the_pool_leaves_no_worker_processes():
    with WorkerPool(2, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as two:
        outcomes = list(two.map([job(str(n), "worker_pid") for n in range(6)] + [job("x", "exit_now", 1)]))

    pids = {o.result for o in outcomes if o.status == "ok"}
    assert pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # not even a zombie: the pool reaped it


def test_a_hanging_job_dies_with_the_pool_process():
    # A pool process killed outright never gets to close its pool; its busy worker must not hang on alone.
    script = (
        "from pypi_platform.lib.scans.pool import Job, WorkerPool\n"
        f"with WorkerPool(1, memory_bytes={MEMORY}) as pool:\n"
        f"    list(pool.map([Job('hang', {TARGETS + 'announce_and_hang'!r}, (60,))]))\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()

    assert wait_until_gone(worker)


def test_a_pool_runs_in_a_thread_other_than_the_main_one():
    # As in a Dagster process, where a pool lives inside one op's thread.
    results = []

    def scan():
        with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as one:
            results.extend(o.result for o in one.map([job("a", "echo", 1), job("b", "echo", 2)]))

    thread = threading.Thread(target=scan)
    thread.start()
    thread.join()

    assert sorted(results) == [1, 2]


def test_a_target_in_the_package_runs_whatever_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with WorkerPool(1, timeout=GENEROUS_TIMEOUT, memory_bytes=MEMORY) as one:
        [outcome] = one.map([Job("wheel", "pypi_platform.lib.scans.archive:is_archive", ("x-1.0.whl",))])

    assert (outcome.status, outcome.result) == ("ok", True)


def test_an_error_is_one_short_line(pool):
    [outcome] = pool.map([job("long", "many_lines")])

    assert outcome.error.startswith("RuntimeError: first line second line xxx")
    assert "\n" not in outcome.error
    assert len(outcome.error) <= 300


def test_no_jobs_no_outcomes(pool):
    assert list(pool.map([])) == []


def test_a_closed_pool_refuses_work():
    closed = WorkerPool(1, memory_bytes=MEMORY)
    closed.close()

    with pytest.raises(RuntimeError, match="closed"):
        closed.map([job("late", "echo", 1)])


def test_one_map_at_a_time(pool):
    running = pool.map([job("a", "echo", 1)])
    next(running)
    with pytest.raises(RuntimeError, match="already running"):
        pool.map([job("b", "echo", 2)])
    list(running)


@pytest.mark.parametrize(
    "settings",
    [{"workers": 0}, {"timeout": 0}, {"memory_bytes": MIN_MEMORY_BYTES - 1}, {"max_jobs_per_worker": 0}],
)
def test_nonsense_settings_are_refused(settings):
    with pytest.raises(ValueError):
        WorkerPool(**settings)
