"""Stealer stages around credential stores: store paths joined from parts, stores copied or archived, searches
for tokens and recovery phrases, screenshot and cipher objects used through a name; each beside an everyday
look-alike that stays quiet."""

from pypi_platform_tests.lib.scans.python_scan import below_medium, found, rules


def _lines(source: str, rule: str) -> list[int]:
    return [line for found_rule, line in found(source) if found_rule == rule]


# --- credentials.sensitive-path, joined from parts -----------------------------------------------------------
def test_credentials_sensitive_path_joined_from_separate_parts():
    source = """
    import os
    ROAMING = os.getenv("APPDATA", "")
    WALLET = os.path.join(ROAMING, "Electrum", "wallets")
    CHAT = os.path.join(ROAMING, "discordcanary", "Local Storage", "leveldb")
    CORE = os.path.join(ROAMING, "discord", "1.0.9", "modules", "discord_desktop_core", "index.js")
    """
    assert _lines(source, "credentials.sensitive-path") == [4, 5, 6]


def test_credentials_sensitive_path_joined_by_pathlib():
    source = """
    from pathlib import Path
    keys = Path.home().joinpath(".config", "solana", "id.json")
    wallets = Path(APPDATA, "Electrum", "wallets")
    """
    assert _lines(source, "credentials.sensitive-path") == [3, 4]


def test_a_part_that_names_a_store_alone_is_not_reported_again_as_joined():
    source = """
    import os
    path = os.path.join(os.path.expanduser("~"), ".pypirc")
    key = os.path.join(home, ".ssh", "id_rsa")
    """
    assert _lines(source, "credentials.client-config") == []  # the literal itself is the raw text's finding
    assert _lines(source, "credentials.sensitive-path") == [4]


def test_everyday_joined_paths_are_quiet():
    source = """
    import os
    index = os.path.join(root, "docs", "build", "index.html")
    store = os.path.join(cache, "leveldb", "CURRENT")
    state = os.path.join(app, "Local Storage", "settings.json")
    """
    assert rules(source) == set()


# --- exfiltration.staging ------------------------------------------------------------------------------------
def test_exfiltration_staging_of_a_store_folder_however_the_file_looks():
    source = """
    import os, shutil, tempfile
    shutil.make_archive(os.path.join(tempfile.gettempdir(), "c"), "zip", os.path.expanduser("~/.config"))
    shutil.copytree(os.path.expanduser("~/.ssh"), "/tmp/k")
    """
    assert _lines(source, "exfiltration.staging") == [3, 4]


def test_exfiltration_staging_of_any_copy_in_a_file_that_names_stores():
    source = """
    import os, shutil
    WALLETS = {"electrum": os.path.join(APPDATA, "Electrum", "wallets")}
    def steal(staging):
        for name, path in WALLETS.items():
            shutil.copytree(path, os.path.join(staging, name))
        return shutil.make_archive(staging, "zip", staging)
    """
    assert _lines(source, "exfiltration.staging") == [6, 7]


def test_copies_and_archives_of_a_project_are_no_staging():
    source = """
    import os, shutil
    shutil.copytree("templates", os.path.join(build, "templates"))
    shutil.copy(os.path.join(here, "README.md"), dist)
    shutil.make_archive("dist/docs", "zip", "docs/_build/html")
    shutil.copytree(os.path.join(here, "testdata", "repos"), tmp)
    shutil.copy(os.path.join(here, "fixtures", "cookies_test.txt"), tmp)
    """
    assert rules(source) == set()


# --- credentials.seed-phrase-search and credentials.token-theft through compiled patterns --------------------
def test_credentials_seed_phrase_search_compiled_or_direct():
    source = r"""
    import re
    SEED = re.compile(r"\b(?:[a-z]{3,8}\s+){11,23}[a-z]{3,8}\b")
    def hunt(text):
        found = SEED.findall(text)
        return found + re.findall(r"(?:\w+\s){12}", text)
    """
    assert _lines(source, "credentials.seed-phrase-search") == [5, 6]


def test_validating_a_whole_recovery_phrase_is_no_search():
    source = r"""
    import re
    PHRASE = re.compile(r"^(?:[a-z]{3,8}\s+){11,23}[a-z]{3,8}$")
    def valid(text):
        return PHRASE.fullmatch(text) is not None or re.match(r"(?:\w+\s){12}", text)
    WORDS = re.compile(r"\w+")
    def words(text):
        return WORDS.findall(text)
    """
    assert below_medium(source)


def test_credentials_token_theft_with_a_compiled_token_pattern_over_leveldb():
    source = r"""
    import os, re
    TOKEN = re.compile(r"[\w-]{24,26}\.[\w-]{6}\.[\w-]{25,110}")
    def grab(folder):
        for name in os.listdir(os.path.join(folder, "leveldb")):
            yield from TOKEN.findall(open(name, errors="ignore").read())
    """
    assert 6 in _lines(source, "credentials.token-theft")


def test_a_token_shaped_pattern_without_chat_stores_is_quiet():
    source = r"""
    import re
    JWT = re.compile(r"[\w-]{24,26}\.[\w-]{6}\.[\w-]{25,110}")
    def tokens(text):
        return JWT.findall(text)
    """
    assert rules(source) == set()


# --- spyware.screenshot through an mss object ----------------------------------------------------------------
def test_spyware_screenshot_through_an_mss_object():
    source = """
    import mss
    with mss.mss() as sct:
        sct.shot(mon=-1, output="m.png")
    grabber = mss.mss()
    grabber.grab(grabber.monitors[1])
    """
    assert _lines(source, "spyware.screenshot") == [3, 4, 5, 6]


def test_grab_on_other_objects_is_no_screenshot():
    source = """
    import threading
    lock = threading.Lock()
    handle.grab(lock)
    queue.grab()
    """
    assert rules(source) == set()


# --- credentials.browser-data: the decrypting call --------------------------------------------------------------
def test_credentials_browser_data_cipher_decrypt_keyed_from_local_state():
    source = """
    import base64, json
    from Crypto.Cipher import AES
    key = base64.b64decode(json.load(open("Local State"))["os_crypt"]["encrypted_key"])
    def password(blob):
        cipher = AES.new(key, AES.MODE_GCM, blob[3:15])
        return cipher.decrypt(blob[15:-16])
    """
    assert 7 in _lines(source, "credentials.browser-data")


def test_decrypting_with_aes_elsewhere_is_quiet():
    source = """
    from Crypto.Cipher import AES
    def open_box(key, nonce, blob):
        cipher = AES.new(key, AES.MODE_GCM, nonce)
        return cipher.decrypt(blob)
    """
    assert rules(source) == set()
