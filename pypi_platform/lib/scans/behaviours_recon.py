"""Reconnaissance at the syntax-tree level: a request to a "what is my IP" service.

Stealers record the victim's public address and country beside the loot; honest libraries almost never need
the machine's public address (a dynamic-DNS client or a network diagnostic does, and says so in its name). So
the call that asks is reported as a capability at medium: it weighs where capabilities are suspicious (import
time, beside a theft) and is visible to a reader, without flagging a package alone.
"""

from __future__ import annotations

import ast
import re

from pypi_platform.lib.scans.call_roles import NETWORK
from pypi_platform.lib.scans.syntax_walk import argument

_LOOKUP_SERVICES = re.compile(
    r"^(?:https?://)?(?:[\w-]+\.)*"
    r"(?:ipify\.org|ipinfo\.io|ip-api\.com|ifconfig\.me|ifconfig\.co|icanhazip\.com|ident\.me|ipecho\.net"
    r"|myexternalip\.com|api\.myip\.com|wtfismyip\.com|ipapi\.co|ipwho\.is|checkip\.amazonaws\.com"
    r"|checkip\.dyndns\.org|geolocation-db\.com|freegeoip\.app|ip\.seeip\.org|api\.my-ip\.io)(?:[:/?]|$)",
    re.IGNORECASE,
)
_URL_NODES = 100  # nodes read in a URL argument and what its names were assigned

ROLES = (("public-ip", NETWORK),)


def check_public_ip_lookup(scan, call: ast.Call, scope: int, target: str) -> None:
    url = argument(call, 0, "url")
    if url is None:
        return
    for count, node in enumerate(scan.subtree([url], scope, follow_names=True)):
        if count >= _URL_NODES:
            return
        if node.__class__ is ast.Constant and node.value.__class__ is str and len(node.value) <= 2_000:
            match = _LOOKUP_SERVICES.search(node.value.strip())
            if match is not None:
                scan.add(
                    "recon.public-ip-lookup", call, evidence=f"{target} asks {node.value[:60]} for the IP"
                )
                return


CHECKS = {"public-ip": check_public_ip_lookup}
