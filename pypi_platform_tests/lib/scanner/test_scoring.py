"""Scoring correlates: threats with capabilities in one file, install time up, tests down, no plain sums."""

from pypi_platform.lib.scanner.findings import Finding
from pypi_platform.lib.scanner.scoring import context, package_score


def _at(path, *rules):
    return [("pkg-1.0.tar.gz", Finding.of(rule, path)) for rule in rules]


def test_members_are_placed_in_their_install_time_context():
    assert context("pkg-1.0/setup.py") == "install"
    assert context("pkg-1.0/pkg/vendor/setup.py") == "code"  # only the top-level setup.py runs at install
    assert context("pkg-1.0.data/purelib/evil.pth") == "install"
    assert context("pkg-1.0/tests/test_api.py") == "test"
    assert context("pkg-1.0/pkg/api.py") == "code"


def test_capabilities_alone_in_library_code_score_nothing():
    findings = []
    for index in range(50):  # a big HTTP library: many files that open connections and spawn processes
        findings += _at(f"pkg-1.0/pkg/m{index}.py", "network.connection", "process.spawn", "file.write")
    assert package_score(findings) == 0


def test_a_threat_next_to_a_capability_outranks_either_alone():
    threat_only = package_score(_at("pkg-1.0/pkg/a.py", "network.paste-or-webhook-url"))
    apart = package_score(
        _at("pkg-1.0/pkg/a.py", "network.paste-or-webhook-url")
        + _at("pkg-1.0/pkg/b.py", "network.connection")
    )
    together = package_score(_at("pkg-1.0/pkg/a.py", "network.paste-or-webhook-url", "network.connection"))
    assert threat_only == apart < together


def test_install_time_capabilities_count_and_weigh_more():
    in_setup = package_score(_at("pkg-1.0/setup.py", "network.connection", "process.spawn"))
    in_library = package_score(_at("pkg-1.0/pkg/api.py", "network.connection", "process.spawn"))
    assert in_library == 0 < in_setup
    threat_in_setup = package_score(_at("pkg-1.0/setup.py", "exec.dynamic-code"))
    threat_in_library = package_score(_at("pkg-1.0/pkg/api.py", "exec.dynamic-code"))
    assert threat_in_setup > threat_in_library


def test_tests_weigh_half():
    in_tests = package_score(_at("pkg-1.0/tests/test_x.py", "exec.dynamic-code"))
    in_code = package_score(_at("pkg-1.0/pkg/x.py", "exec.dynamic-code"))
    assert in_tests == in_code / 2


def test_many_files_with_the_same_threat_do_not_add_up_past_the_worst_three():
    one = package_score(_at("pkg-1.0/pkg/m0.py", "exec.dynamic-code"))
    many = package_score([f for i in range(200) for f in _at(f"pkg-1.0/pkg/m{i}.py", "exec.dynamic-code")])
    assert many == round(one * 1.35, 1)


def test_anomalies_count_once_per_rule_and_fully_beside_a_threat():
    many_failures = [f for i in range(40) for f in _at(f"pkg-1.0/py2/m{i}.py", "parse.failed")]
    assert package_score(many_failures) == 30  # a Python 2 package is not 40 times as suspicious
    hidden = package_score(_at("pkg-1.0/pkg/x.py", "parse.failed", "network.raw-ip-url"))
    visible = package_score(_at("pkg-1.0/pkg/x.py", "network.raw-ip-url"))
    assert hidden > visible


def test_scores_are_capped_at_100():
    rules = ("obfuscation.decode-and-exec", "network.connection", "process.spawn", "file.write")
    assert package_score(_at("pkg-1.0/setup.py", *rules) + _at("pkg-1.0/pkg/x.py", *rules)) == 100


def test_reading_credentials_scores_only_beside_a_way_out():
    netrc_support = package_score(_at("pkg-1.0/pkg/utils.py", "credentials.sensitive-path"))
    stealer = package_score(_at("pkg-1.0/pkg/utils.py", "credentials.sensitive-path", "network.connection"))
    assert netrc_support == 0 < 50 <= stealer


def test_reading_two_kinds_of_credential_store_is_a_stealer_wherever_they_are_sent():
    def read(path, evidence):
        return [("pkg-1.0.tar.gz", Finding.of("credentials.sensitive-path", path, evidence=evidence))]

    ssh_client = package_score(read("pkg-1.0/pkg/keys.py", "~/.ssh/id_rsa"))
    stealer = package_score(read("pkg-1.0/pkg/a.py", ".ssh/id_rsa") + read("pkg-1.0/pkg/b.py", "Login Data"))
    fixtures = package_score(
        read("pkg-1.0/tests/a.py", ".ssh/id_rsa") + read("pkg-1.0/tests/b.py", ".aws/credentials")
    )
    assert ssh_client == fixtures == 0 < 80 <= stealer
