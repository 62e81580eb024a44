"""Global hotkeys for a screen-reader helper: only the registered combinations are handled, nothing is kept."""

from pynput import keyboard


def read_selection():
    print("reading the selection aloud")


def toggle_speech():
    print("speech toggled")


HOTKEYS = {"<ctrl>+<alt>+r": read_selection, "<ctrl>+<alt>+s": toggle_speech}


def run():
    with keyboard.GlobalHotKeys(HOTKEYS) as hotkeys:
        hotkeys.join()
