"""Spyware and stealer behaviours: clipboard, screenshots, keylogging, browser stores, chat tokens, process
injection and side-loaded native libraries; each beside an everyday look-alike that stays below medium."""

from pypi_platform_tests.lib.scans.python_scan import below_medium, found, rules


def _lines(source: str, rule: str) -> list[int]:
    return [line for found_rule, line in found(source) if found_rule == rule]


# --- spyware.clipboard ---------------------------------------------------------------------------------------
def test_spyware_clipboard_reads_however_reached():
    source = """
    import ctypes, pyperclip, tkinter, win32clipboard
    pyperclip.paste()
    win32clipboard.GetClipboardData()
    tkinter.Tk().clipboard_get()
    ctypes.windll.user32.GetClipboardData(1)
    """
    assert _lines(source, "spyware.clipboard") == [3, 4, 5, 6]


def test_writing_to_the_clipboard_is_quiet():
    assert rules("import pyperclip\npyperclip.copy(text)\n") == set()


# --- spyware.screenshot --------------------------------------------------------------------------------------
def test_spyware_screenshot_grabs():
    source = """
    from PIL import ImageGrab
    import mss, pyautogui
    ImageGrab.grab()
    pyautogui.screenshot('s.png')
    with mss.mss() as screen:
        screen.shot()
    """
    assert _lines(source, "spyware.screenshot") == [4, 5, 6, 7]


def test_opening_an_image_is_no_screenshot():
    assert rules("from PIL import Image\nImage.open('logo.png').save('logo.jpg')\n") == set()


# --- spyware.keylogger ---------------------------------------------------------------------------------------
def test_spyware_keylogger_hooks_and_polling():
    source = """
    import ctypes, keyboard
    from pynput import keyboard as keys
    keys.Listener(on_press=record)
    keyboard.on_press(record)
    ctypes.windll.user32.SetWindowsHookExA(13, hook, None, 0)
    state = ctypes.windll.user32.GetAsyncKeyState(0x41)
    """
    assert _lines(source, "spyware.keylogger") == [4, 5, 6, 7]


def test_sending_keys_is_no_keylogger():
    source = """
    from pynput.keyboard import Controller
    import keyboard
    Controller().press('a')
    keyboard.write('hello')
    """
    assert below_medium(source)


# --- credentials.browser-data --------------------------------------------------------------------------------
def test_credentials_browser_data_stores_opened_and_decrypted():
    source = """
    import os, shutil, sqlite3, win32crypt
    from Crypto.Cipher import AES
    profile = os.path.join(os.environ['LOCALAPPDATA'], 'Google', 'Chrome', 'User Data', 'Default')
    shutil.copy2(os.path.join(profile, 'Login Data'), 'db.tmp')
    sqlite3.connect(os.path.join(profile, 'Network', 'Cookies'))
    win32crypt.CryptUnprotectData(blob, None, None, None, 0)
    key = json.load(open(os.path.join(profile, '..', 'Local State')))['os_crypt']['encrypted_key']
    AES.new(key, AES.MODE_GCM, nonce)
    """
    assert _lines(source, "credentials.browser-data") == [5, 6, 7, 9]


def test_dpapi_of_an_applications_own_secret_is_no_browser_data():
    source = """
    import win32crypt
    blob = win32crypt.CryptProtectData(b"secret", "description")
    assert win32crypt.CryptUnprotectData(blob)[1] == b"secret"
    """
    assert below_medium(source)


def test_an_application_database_is_no_browser_data():
    source = """
    import sqlite3
    sqlite3.connect('app.db')
    sqlite3.connect(os.path.join(data_dir, 'cache.sqlite3'))
    """
    assert below_medium(source)


# --- credentials.token-theft ---------------------------------------------------------------------------------
def test_credentials_token_theft_token_patterns_over_leveldb():
    source = r"""
    import os, re
    store = os.path.join(os.getenv('APPDATA'), 'discord', 'Local Storage', 'leveldb')
    for name in os.listdir(store):
        text = open(os.path.join(store, name), errors='ignore').read()
        re.findall(r'[\w-]{24}\.[\w-]{6}\.[\w-]{27}', text)
        re.findall(r'mfa\.[\w-]{84}', text)
    """
    assert _lines(source, "credentials.token-theft") == [6, 7]


def test_a_token_pattern_without_leveldb_stores_is_quiet():
    source = r"""
    import re
    JWT = re.compile(r'[\w-]{24}\.[\w-]{6}\.[\w-]{27}')
    """
    assert rules(source) == set()


# --- injection.process-memory --------------------------------------------------------------------------------
def test_injection_process_memory_apis():
    source = """
    import ctypes
    kernel32 = ctypes.windll.kernel32
    address = kernel32.VirtualAllocEx(process, 0, size, 0x3000, 0x40)
    kernel32.WriteProcessMemory(process, address, shellcode, size, None)
    kernel32.CreateRemoteThread(process, None, 0, address, None, 0, None)
    ctypes.windll.ntdll.NtUnmapViewOfSection(process, base)
    """
    assert _lines(source, "injection.process-memory") == [4, 5, 6, 7]


def test_ordinary_ctypes_calls_are_no_injection():
    source = """
    import ctypes
    ctypes.windll.kernel32.GetTickCount()
    ctypes.windll.user32.MessageBoxW(None, 'hi', 'title', 0)
    """
    assert rules(source) == {"exec.native-library"}  # the loading itself, a capability


# --- exec.native-library-sideload ----------------------------------------------------------------------------
def test_exec_native_library_sideload_from_temp_or_by_a_hidden_name():
    source = """
    import ctypes, os, tempfile
    ctypes.CDLL(os.path.join(tempfile.gettempdir(), 'helper.dll'))
    ctypes.WinDLL('C:\\\\Users\\\\x\\\\AppData\\\\Local\\\\Temp\\\\a.dll')
    ctypes.windll.kernel32.LoadLibraryA(os.path.join(os.environ['USERPROFILE'], 'Downloads', 'x.dll'))
    ctypes.WinDLL('ker' + 'nel' + '32')
    """
    assert _lines(source, "exec.native-library-sideload") == [3, 4, 5, 6]


def test_loading_a_system_or_packaged_library_is_no_sideload():
    source = """
    import ctypes, ctypes.util, os
    ctypes.CDLL(ctypes.util.find_library('c'))
    ctypes.CDLL(os.path.join(os.path.dirname(__file__), '_native.so'))
    ctypes.WinDLL('kernel32')
    """
    assert rules(source) == {"exec.native-library"}  # the loading itself, a capability


# --- spyware.clipboard-hijack and the command-line forms -----------------------------------------------------
def test_spyware_clipboard_hijack_read_and_replaced_beside_wallet_addresses():
    source = """
    import re, subprocess, pyperclip
    MINE = {'btc': 'bc1qexampleexampleexampleexample0000000', 'eth': '0x' + '0' * 40}
    text = pyperclip.paste()
    if re.fullmatch(r'(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}', text):
        pyperclip.copy(MINE['btc'])
    current = subprocess.run(['xclip', '-selection', 'clipboard', '-o'], capture_output=True).stdout
    subprocess.run(['pbcopy'], input=MINE['eth'], text=True)
    """
    found_rules = found(source)
    assert _lines(source, "spyware.clipboard-hijack") == [6, 8]
    assert ("spyware.clipboard", 7) in found_rules


def test_a_clipboard_tool_that_copies_and_pastes_text_is_no_hijack():
    source = """
    import pyperclip
    def swap_case():
        pyperclip.copy(pyperclip.paste().swapcase())
    """
    assert "spyware.clipboard-hijack" not in rules(source)


def test_spyware_screenshot_and_sideload_through_commands():
    source = """
    import os, subprocess
    subprocess.run(['screencapture', '-x', '/tmp/s.png'])
    subprocess.run(['import', '-window', 'root', '/tmp/s.png'])
    os.system('regsvr32 /s %TEMP%\\\\helper.dll')
    """
    assert _lines(source, "spyware.screenshot") == [3, 4]
    assert _lines(source, "exec.native-library-sideload") == [5]


def test_exec_native_library_sideload_through_preload_variables():
    source = """
    import os
    os.environ['LD_PRELOAD'] = os.path.join(os.path.dirname(__file__), 'libhook.so')
    os.putenv('DYLD_INSERT_LIBRARIES', '/tmp/x.dylib')
    with open('/etc/ld.so.preload', 'a') as preload:
        preload.write('/tmp/x.so')
    """
    assert _lines(source, "exec.native-library-sideload") == [3, 4, 5]


def test_setting_an_ordinary_environment_variable_is_quiet():
    assert rules("import os\nos.environ['PYTHONPATH'] = 'src'\nos.putenv('LANG', 'C')\n") == set()


def test_credentials_browser_data_queries_and_the_local_state_key():
    source = """
    import base64, json, sqlite3
    state = json.load(open('Local State'))
    key = base64.b64decode(state['os_crypt']['encrypted_key'])[5:]
    rows = sqlite3.connect(copy).execute('SELECT origin_url, username_value, password_value FROM logins')
    """
    assert _lines(source, "credentials.browser-data") == [4, 5]


def test_an_application_query_and_an_ordinary_decode_are_quiet():
    source = """
    import base64, sqlite3
    sqlite3.connect('app.db').execute('SELECT name, value FROM settings')
    token = base64.b64decode(config['token'])
    """
    assert rules(source) == set()


# --- spyware.clipboard-hijack: a wallet's prefix and length tested, OpenClipboard of a reader -----------------
def test_spyware_clipboard_hijack_after_testing_a_wallet_prefix_and_length():
    source = """
    import tkinter
    def swap(replacement="TMadeUpAddressForTests"):
        root = tkinter.Tk()
        seen = root.clipboard_get()
        if seen.startswith("T") and len(seen) == 34:
            root.clipboard_append(replacement)
    """
    assert _lines(source, "spyware.clipboard-hijack") == [7]


def test_spyware_clipboard_open_clipboard_of_a_reader():
    source = """
    import ctypes
    user32 = ctypes.windll.user32
    user32.OpenClipboard(0)
    handle = user32.GetClipboardData(13)
    """
    assert _lines(source, "spyware.clipboard") == [4, 5]


def test_a_clipboard_formatter_and_a_clipboard_writer_are_no_hijack():
    formatter = """
    import tkinter
    root = tkinter.Tk()
    seen = root.clipboard_get()
    if seen.startswith("0x"):
        root.clipboard_append(seen.lower())
    """
    assert "spyware.clipboard-hijack" not in rules(formatter)
    writer = """
    import ctypes
    user32 = ctypes.windll.user32
    user32.OpenClipboard(0)
    user32.SetClipboardData(13, handle)
    """
    assert below_medium(writer)


def test_copying_a_cookie_jar_of_tests_is_no_browser_data():
    source = """
    import shutil
    shutil.copy("tests/fixtures/cookies_test.txt", tmp)
    shutil.copy2("data/cookies.json", tmp)
    """
    assert rules(source) == set()
