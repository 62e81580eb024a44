"""Job functions for the worker pool's tests: each misbehaves in one way a scan of a hostile package might."""

import os
import resource
import signal
import subprocess
import sys
import threading
import time
import warnings


def echo(value):
    return value


def worker_pid():
    return os.getpid()


def fail(message):
    raise ValueError(message)


def exit_interpreter(code):
    sys.exit(code)


def exit_now(code):
    os._exit(code)


def segfault():
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)  # the signal is delivered at once; this only keeps the function from returning first


def abort():
    os.abort()


def killed_from_outside():
    """What the kernel's OOM killer does: a SIGKILL the pool did not send."""
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)


def allocate(size):
    return len(bytearray(size))


def hang(seconds):
    time.sleep(seconds)


def sleep_with_child(pid_path, seconds):
    """Start a child, say its pid, then hang: the timeout must take the child down too."""
    child = subprocess.Popen(["sleep", str(seconds)])
    with open(pid_path, "w") as pid_file:
        pid_file.write(str(child.pid))
    time.sleep(seconds)


def leave_child_running(seconds):
    """Return while a child still runs: the pool must not let it outlive the worker."""
    return {"worker": os.getpid(), "child": subprocess.Popen(["sleep", str(seconds)]).pid}


def leave_thread_running(seconds):
    """Return while a thread of the job still runs: it would go on competing with the next jobs."""
    threading.Thread(target=time.sleep, args=(seconds,), daemon=True).start()
    return os.getpid()


def announce_and_hang(seconds):
    """Say which worker runs the job (stdout is a pipe here, so it is kept), then hang."""
    print(os.getpid(), flush=True)
    time.sleep(seconds)


def run_child_to_completion():
    """A child that finished is no reason to replace the worker."""
    subprocess.run(["true"], check=True)
    return os.getpid()


def limits():
    return {
        "as": resource.getrlimit(resource.RLIMIT_AS),
        "core": resource.getrlimit(resource.RLIMIT_CORE),
        "fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
    }


def process_group():
    return {"pid": os.getpid(), "pgid": os.getpgid(0), "sid": os.getsid(0)}


def write_file(path):
    with open(path, "w") as out:
        out.write("written")
    return path


def noisy():
    print("to stdout", flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    warnings.warn("a warning goes to stderr", stacklevel=1)
    return "said it"


def unpicklable():
    return threading.Lock()


class _Unreadable:
    """Pickles fine in the worker, fails to unpickle in the pool's process."""

    def __reduce__(self):
        return (_refuse, ())


def _refuse():
    raise RuntimeError("this result refuses to be rebuilt")


def unreadable():
    return _Unreadable()


def many_lines():
    raise RuntimeError("first line\nsecond line\n" + "x" * 1000)
