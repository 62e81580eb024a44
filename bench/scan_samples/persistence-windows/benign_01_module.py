"""An app's own "start at login" option: toggled by the user in its settings window, removable the same way."""

import sys
import winreg

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APP = "ClipNotes"


def start_at_login(enabled: bool):
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        if enabled:
            winreg.SetValueEx(key, APP, 0, winreg.REG_SZ, f'"{sys.executable}" -m clipnotes --minimised')
        else:
            try:
                winreg.DeleteValue(key, APP)
            except FileNotFoundError:
                pass


def theme():
    path = r"Software\Microsoft\Windows\CurrentVersion\Themes\Personalize"
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, path) as key:
        return "light" if winreg.QueryValueEx(key, "AppsUseLightTheme")[0] else "dark"
