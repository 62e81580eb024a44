"""Connectivity checks for a CLI that works offline: is the network up, and is our API reachable?"""

import http.client
import socket

PUBLIC_RESOLVERS = (("1.1.1.1", 53), ("8.8.8.8", 53))  # reachable from almost anywhere, answer TCP on 53
API_HOST = "api.weatherly.example"


def online(timeout=1.5):
    for address in PUBLIC_RESOLVERS:
        try:
            socket.create_connection(address, timeout=timeout).close()
            return True
        except OSError:
            continue
    return False


def api_status(host=API_HOST, timeout=3.0):
    conn = http.client.HTTPSConnection(host, 443, timeout=timeout)
    try:
        conn.request("GET", "/v2/status")
        return conn.getresponse().status
    finally:
        conn.close()


def local_server(port=8000):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    conn.request("GET", "/health")
    return conn.getresponse().status == 200
