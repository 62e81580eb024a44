"""The HTTP client's User-Agent, as pip and other installers build one, and an opt-in crash report."""

import json
import platform
import sys
import traceback

import requests

__version__ = "3.2.0"


def user_agent():
    python = ".".join(map(str, sys.version_info[:3]))
    return f"fetchkit/{__version__} (Python {python}; {platform.system()} {platform.release()}; {platform.machine()})"


def session():
    s = requests.Session()
    s.headers["User-Agent"] = user_agent()
    return s


def report_crash(exc, consent: bool):
    """Sent only when the user said yes in `fetchkit --setup`; no user or host names."""
    if not consent:
        return
    body = {"version": __version__, "python": platform.python_version(), "os": platform.system(),
            "trace": traceback.format_exception(exc)}
    session().post("https://crash.fetchkit.example/v1/report", data=json.dumps(body), timeout=5)
