"""Address helpers: bind on all IPv6 interfaces, and build URLs for a server listening on loopback."""

import ipaddress
import socket


def dual_stack_server(port):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    sock.listen()
    return sock


def url_for(host, port, path="/"):
    """http://[::1]:8000/ for IPv6 literals, as RFC 3986 requires the brackets."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"http://{host}:{port}{path}"


LOCAL = url_for("::1", 8000)
GIT_REMOTE = "ssh://git@github.com/example-org/widgets.git"
