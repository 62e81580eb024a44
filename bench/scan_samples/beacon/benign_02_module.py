"""Client of a home-automation hub on the local network (the address comes from discovery or config)."""

import json
import urllib.request

DEFAULT_HUB = "192.168.1.20"


class Hub:
    def __init__(self, address=DEFAULT_HUB, port=8123, token=None):
        self.base = f"http://{address}:{port}/api"
        self.token = token

    def _request(self, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(self.base + path, data=data, headers=headers)) as r:
            return json.load(r)

    def states(self):
        return self._request("/states")

    def turn_on(self, entity):
        return self._request("/services/light/turn_on", {"entity_id": entity})
