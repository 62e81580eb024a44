"""Scoring correlates: threats with capabilities in one file, weighed by where the file sits, no plain sums."""

import pytest

from pypi_platform.lib.scans.config_rules import config_findings
from pypi_platform.lib.scans.findings import Finding
from pypi_platform.lib.scans.scoring import FLAG_SCORE, context, explain, package_score


def _at(path, *rules, at_import=False):
    return [("pkg-1.0.tar.gz", Finding.of(rule, path, at_import=at_import)) for rule in rules]


# --- contexts --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("pkg-1.0/setup.py", "install"),
        ("pkg-1.0/pkg/sub/setup.py", "code"),  # only the top-level setup.py runs at install
        ("pkg-1.0.data/purelib/evil.pth", "install"),
        ("distutils-precedence.pth", "install"),
        ("pkg-1.0/pkg/api.py", "code"),
        ("pkg-1.0/tests/test_api.py", "test"),
        ("pkg-1.0/src/pkg/tests/unit/helpers.py", "test"),
        ("pkg-1.0/test_creds/keys.py", "test"),  # a test_* folder at any depth
        ("pkg-1.0/pkg/integration_tests/run.py", "test"),  # a *_test* folder
        ("pkg-1.0/pkg/api_test.py", "test"),
        ("pkg-1.0/conftest.py", "test"),
        ("pkg-1.0/tests/fixtures/setup.py", "test"),  # a test project's setup.py never runs at install
        ("pkg-1.0/tests/data/inner-1.0-py3-none-any.whl!inner/evil.py", "test"),  # the outer path counts
        ("pkg-1.0/docs_src/tutorial/app.py", "docs"),
        ("pkg-1.0/docs/conf.py", "docs"),
        ("pkg-1.0/README.md", "docs"),
        ("pkg-1.0/examples/client.py", "example"),
        ("pip/_vendor/distlib/t64.exe", "vendored"),
        ("pkg-1.0/third_party/lib.py", "vendored"),
        ("pkg-1.0/pkg/data/table.json", "data"),
        ("pkg-1.0/pyproject.toml", "code"),
    ],
)
def test_members_are_placed_in_their_context(path, expected):
    assert context(path) == expected


def test_a_declared_build_backend_is_install_time_code():
    assert context("pkg-1.0/backend.py", frozenset({"pkg-1.0/backend.py"})) == "install"


# --- capabilities ----------------------------------------------------------------------------------------------
def test_capabilities_alone_in_library_code_score_nothing():
    findings = []
    for index in range(50):  # a big HTTP library: many files that open connections and spawn processes
        findings += _at(f"pkg-1.0/pkg/m{index}.py", "network.connection", "process.spawn", "file.write")
    assert package_score(findings) == 0


def test_import_time_network_counts_where_the_same_call_in_a_function_does_not():
    in_function = package_score(_at("pkg-1.0/pkg/__init__.py", "network.connection"))
    at_import = package_score(_at("pkg-1.0/pkg/__init__.py", "network.connection", at_import=True))
    assert in_function == 0 < at_import < FLAG_SCORE  # ranked above the noise, not flagged alone
    beside_a_webhook = _at("pkg-1.0/pkg/__init__.py", "network.connection", at_import=True) + _at(
        "pkg-1.0/pkg/__init__.py", "network.paste-or-webhook-url"
    )
    assert package_score(beside_a_webhook) >= FLAG_SCORE


def test_a_threat_next_to_a_capability_outranks_either_alone():
    threat_only = package_score(_at("pkg-1.0/pkg/a.py", "network.paste-or-webhook-url"))
    apart = package_score(
        _at("pkg-1.0/pkg/a.py", "network.paste-or-webhook-url")
        + _at("pkg-1.0/pkg/b.py", "network.connection")
    )
    together = package_score(_at("pkg-1.0/pkg/a.py", "network.paste-or-webhook-url", "network.connection"))
    assert threat_only == apart < together


def test_install_time_network_is_flagged_and_weighs_more():
    in_setup = package_score(_at("pkg-1.0/setup.py", "network.connection"))
    in_library = package_score(_at("pkg-1.0/pkg/api.py", "network.connection"))
    assert in_library == 0 < FLAG_SCORE <= in_setup


def test_everyday_build_steps_in_setup_py_stay_below_the_flag():
    build_steps = _at(
        "pkg-1.0/setup.py",
        "process.spawn",
        "file.write",
        "exec.dynamic-code",
        "install.cmdclass-override",
        "exec.native-library",
    )
    assert 0 < package_score(build_steps) < FLAG_SCORE


def test_eval_beside_a_socket_is_not_remote_code_alone():
    # a REPL or a web framework: the exec of fetched code is dropper.download-and-run, a threat of its own
    assert package_score(_at("pkg-1.0/pkg/x.py", "exec.dynamic-code", "network.connection")) < FLAG_SCORE
    assert package_score(_at("pkg-1.0/pkg/x.py", "dropper.download-and-run")) >= FLAG_SCORE


# --- contexts weigh ------------------------------------------------------------------------------------------
def test_tests_docs_examples_and_vendored_code_weigh_half():
    in_code = package_score(_at("pkg-1.0/pkg/x.py", "obfuscation.decode-and-exec"))
    for path in ("pkg-1.0/tests/x.py", "pkg-1.0/docs_src/x.py", "pkg-1.0/examples/x.py", "pkg/_vendor/x.py"):
        assert package_score(_at(path, "obfuscation.decode-and-exec")) == in_code / 2


def test_a_strong_threat_in_a_test_still_flags_and_a_weak_one_does_not():
    assert package_score(_at("pkg-1.0/tests/x.py", "obfuscation.decode-and-exec")) >= FLAG_SCORE
    assert package_score(_at("pkg-1.0/tests/x.py", "network.raw-ip-url")) < FLAG_SCORE


def test_many_files_with_the_same_threat_do_not_add_up_past_the_worst_three():
    one = package_score(_at("pkg-1.0/pkg/m0.py", "obfuscation.decode-and-exec"))
    many = package_score(
        [f for i in range(200) for f in _at(f"pkg-1.0/pkg/m{i}.py", "obfuscation.decode-and-exec")]
    )
    assert many == min(100, round(one * 1.35, 1))


# --- anomalies -----------------------------------------------------------------------------------------------
def test_anomalies_count_once_per_rule_and_fully_beside_a_threat():
    many_failures = [f for i in range(40) for f in _at(f"pkg-1.0/py2/m{i}.py", "parse.failed")]
    one_failure = package_score(_at("pkg-1.0/py2/m0.py", "parse.failed"))
    assert package_score(many_failures) == one_failure < FLAG_SCORE  # a Python 2 package is not a payload
    hidden = package_score(_at("pkg-1.0/pkg/x.py", "parse.failed", "network.raw-ip-url"))
    visible = package_score(_at("pkg-1.0/pkg/x.py", "network.raw-ip-url"))
    assert hidden > visible


def test_an_in_tree_link_or_a_launcher_binary_alone_is_not_flagged():
    assert package_score(_at("pkg-1.0/docs/index.rst", "archive.link")) < FLAG_SCORE
    assert package_score(_at("distlib-1.0/distlib/t64.exe", "binary.executable-in-sdist")) < FLAG_SCORE


def test_hostile_archive_anomalies_still_flag_alone():
    assert package_score(_at("pkg-1.0/../../etc/passwd", "archive.parent-path")) >= FLAG_SCORE
    assert package_score(_at("pkg-1.0/big.bin", "archive.bomb")) >= FLAG_SCORE


def test_scores_are_capped_at_100():
    rules = ("obfuscation.decode-and-exec", "network.connection", "process.spawn", "file.write")
    assert package_score(_at("pkg-1.0/setup.py", *rules) + _at("pkg-1.0/pkg/x.py", *rules)) == 100


# --- credentials ---------------------------------------------------------------------------------------------
def test_reading_credentials_scores_only_beside_the_upload_that_carries_them_out():
    ssh_client = package_score(
        _at("pkg-1.0/pkg/utils.py", "credentials.sensitive-path", "network.connection")
    )
    stealer = package_score(_at("pkg-1.0/pkg/utils.py", "credentials.sensitive-path", "exfiltration.send"))
    assert ssh_client == 0 < FLAG_SCORE <= stealer


def test_reading_two_kinds_of_credential_store_is_a_stealer_wherever_they_are_sent():
    def read(path, evidence):
        return [("pkg-1.0.tar.gz", Finding.of("credentials.sensitive-path", path, evidence=evidence))]

    ssh_client = package_score(read("pkg-1.0/pkg/keys.py", "~/.ssh/id_rsa"))
    stealer = package_score(read("pkg-1.0/pkg/a.py", ".ssh/id_rsa") + read("pkg-1.0/pkg/b.py", "Login Data"))
    fixtures = package_score(
        read("pkg-1.0/tests/a.py", ".ssh/id_rsa") + read("pkg-1.0/tests/b.py", ".aws/credentials")
    )
    assert ssh_client == fixtures == 0 < 80 <= stealer


# --- explanations --------------------------------------------------------------------------------------------
def test_every_score_is_recomputed_from_its_parts():
    findings = (
        _at("pkg-1.0/setup.py", "network.connection")
        + _at("pkg-1.0/pkg/a.py", "network.paste-or-webhook-url", "network.connection")
        + _at("pkg-1.0/pkg/b.py", "network.oast-host")
        + _at("pkg-1.0/tests/x.py", "obfuscation.decode-and-exec")
        + _at("pkg-1.0/py2/m.py", "parse.failed")
    )
    score, parts = explain(findings)
    assert [part.score for part in parts] == sorted((part.score for part in parts), reverse=True)
    assert score == round(min(100, sum(part.score * part.counts for part in parts)), 1)
    first = parts[0]
    assert (first.source, first.path, first.context, first.counts) == (
        "file",
        "pkg-1.0/pkg/a.py",
        "code",
        1.0,
    )
    assert first.rules == ("network.connection", "network.paste-or-webhook-url")
    # The next threat in library code adds a quarter; a threat in a test is one more test vector and does
    # not pile up; the install-time download, no threat, is shown but does not add.
    shares = {part.path: (part.threat, part.counts) for part in parts}
    assert shares["pkg-1.0/pkg/b.py"] == (True, 0.25)
    assert shares["pkg-1.0/tests/x.py"] == (True, 0.0)
    assert shares["pkg-1.0/setup.py"] == (False, 0.0)
    assert shares["pkg-1.0/py2/m.py"] == (False, 0.0)


def test_weak_signals_that_are_not_threats_never_add_up_to_a_flag():
    # setuptools: launcher binaries, a setup.py that runs a compiler, a symbolic link, a Python 2 file
    findings = (
        _at("pkg-1.0/setuptools/cli-64.exe", "binary.executable-in-sdist")
        + _at("pkg-1.0/setup.py", "process.spawn", "file.write")
        + _at("pkg-1.0/docs/CONTRIBUTING.md", "archive.link")
        + _at("pkg-1.0/setuptools/py27compat.py", "parse.failed")
    )
    assert package_score(findings) < FLAG_SCORE


def test_one_member_in_the_sdist_and_the_wheel_counts_once():
    def both(*rules):
        return [("pkg-1.0.tar.gz", Finding.of(rule, "pkg-1.0/src/pkg/a.py")) for rule in rules] + [
            ("pkg-1.0-py3-none-any.whl", Finding.of(rule, "pkg/a.py")) for rule in rules
        ]

    one = package_score(_at("pkg-1.0/src/pkg/a.py", "network.paste-or-webhook-url"))
    assert package_score(both("network.paste-or-webhook-url")) == one


def test_a_cloud_cli_driven_beside_its_credential_path_is_not_exfiltration():
    # google-auth: reads .config/gcloud and runs gcloud in the same module
    assert (
        package_score(_at("pkg-1.0/google/auth/_cloud_sdk.py", "credentials.sensitive-path", "process.spawn"))
        == 0
    )


def test_a_web_bundle_naming_credential_stores_is_not_a_stealer():
    def read(path, evidence):
        return [("pkg-1.0.tar.gz", Finding.of("credentials.sensitive-path", path, evidence=evidence))]

    bundle = "pkg-1.0/pkg/ui/_next/static/chunks/app.js"
    assert package_score(read(bundle, ".ssh/id_rsa") + read(bundle, ".kube/config")) == 0


def test_the_module_an_in_tree_build_backend_names_is_scored_as_install_time_code():
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n'
    [declared] = config_findings("pkg-1.0/pyproject.toml", pyproject)
    network = _at("pkg-1.0/_build/backend.py", "network.connection")
    assert package_score(network) == 0  # a library module that opens a connection
    score, parts = explain([("pkg-1.0.tar.gz", declared), *network])
    assert score >= FLAG_SCORE and parts[0].context == "install"


def test_a_screenshot_or_the_clipboard_beside_a_way_out_is_spying():
    assert package_score(_at("pkg-1.0/pkg/shot.py", "spyware.screenshot")) == 0  # a screenshot tool
    assert package_score(_at("pkg-1.0/pkg/shot.py", "spyware.screenshot", "network.connection")) >= FLAG_SCORE
    assert package_score(_at("pkg-1.0/pkg/clip.py", "spyware.clipboard", "network.paste-site")) >= FLAG_SCORE


def test_ssh_keys_and_cloud_credentials_together_are_a_deployment_tool_not_a_stealer():
    def read(path, evidence):
        return [("pkg-1.0.tar.gz", Finding.of("credentials.sensitive-path", path, evidence=evidence))]

    launcher = read("pkg-1.0/pkg/autoscaler/ssh.py", ".ssh/id_rsa") + read(
        "pkg-1.0/pkg/aws.py", ".aws/credentials"
    )
    assert package_score(launcher) == 0


def test_a_leaked_secret_is_reported_but_does_not_flag_alone():
    leak = _at("pkg-1.0/pkg/settings.py", "secret.aws-access-key")
    assert 0 < package_score(leak) < FLAG_SCORE
    beside_a_threat = _at("pkg-1.0/pkg/settings.py", "secret.aws-access-key", "network.paste-or-webhook-url")
    assert package_score(beside_a_threat) >= 100


def test_import_time_capabilities_together_stay_below_the_flag():
    script = _at("pkg-1.0/scripts/shot.py", "network.connection", "process.spawn", at_import=True)
    assert 0 < package_score(script) < FLAG_SCORE


def test_a_threat_in_a_test_counts_alone_without_its_scaffolding():
    # a test that connects to a literal public address through a test server it starts
    scaffolded = _at("pkg-1.0/tests/test_adapter.py", "network.literal-ip-connection", "network.connection")
    scaffolded += _at("pkg-1.0/tests/test_adapter.py", "process.spawn", "network.raw-ip-url")
    assert package_score(scaffolded) == 25 < FLAG_SCORE
