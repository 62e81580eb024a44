"""Process injection and shellcode run in the own process, through ctypes and mmap; each beside an everyday
look-alike (a read-only process handle, read-write memory, a Python callback) that stays quiet."""

from pypi_platform_tests.lib.scans.python_scan import found, rules


def _lines(source: str, rule: str) -> list[int]:
    return [line for found_rule, line in found(source) if found_rule == rule]


# --- injection.process-memory: OpenProcess ------------------------------------------------------------------
def test_injection_process_memory_open_process_with_write_access():
    source = """
    import ctypes
    PROCESS_ALL_ACCESS = 0x1F0FFF
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(PROCESS_ALL_ACCESS, False, pid)
    other = ctypes.windll.kernel32.OpenProcess(0x0028, False, pid)
    kernel32.WriteProcessMemory(handle, address, payload, len(payload), None)
    """
    assert _lines(source, "injection.process-memory") == [5, 6, 7]


def test_a_process_opened_with_all_access_to_change_its_security_is_no_injection():
    source = """
    import win32api, win32con, win32security
    handle = win32api.OpenProcess(win32con.PROCESS_ALL_ACCESS, 0, pid)
    win32security.SetSecurityInfo(handle, win32security.SE_KERNEL_OBJECT, info, None, None, dacl, None)
    """
    assert "injection.process-memory" not in rules(source)


def test_a_query_only_process_handle_is_no_injection():
    source = """
    import ctypes
    PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    kernel32.OpenProcess(0x0410, False, pid)
    """
    assert not {"injection.process-memory", "injection.shellcode"} & rules(source)


# --- injection.shellcode -------------------------------------------------------------------------------------
def test_injection_shellcode_executable_allocation_copy_and_thread():
    source = """
    import ctypes
    PAGE_EXECUTE_READWRITE = 0x40
    kernel32 = ctypes.windll.kernel32
    def run(code, size):
        address = kernel32.VirtualAlloc(None, size, 0x3000, PAGE_EXECUTE_READWRITE)
        kernel32.RtlMoveMemory(ctypes.c_void_p(address), code, size)
        thread = kernel32.CreateThread(None, 0, ctypes.c_void_p(address), None, 0, None)
        kernel32.VirtualProtect(buffer, size, 0x20, ctypes.byref(old))
    """
    assert _lines(source, "injection.shellcode") == [6, 7, 8, 9]


def test_injection_shellcode_mmap_exec_and_function_cast():
    source = """
    import base64, ctypes, mmap
    code = base64.b64decode(PAYLOAD)
    buffer = mmap.mmap(-1, len(code), prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
    function = ctypes.CFUNCTYPE(ctypes.c_int)(address)
    """
    assert _lines(source, "injection.shellcode") == [4, 6]


def test_a_cpuid_stub_spelled_in_the_file_is_no_shellcode():
    source = """
    import ctypes
    OPCODES = [0x53, 0x0F, 0xA2, 0x5B, 0xC3]  # push rbx; cpuid; pop rbx; ret
    class CPUID:
        def __init__(self):
            code = (ctypes.c_ubyte * len(OPCODES))(*OPCODES)
            self.win = ctypes.windll.kernel32
            self.addr = self.win.VirtualAlloc(None, len(OPCODES), 0x3000, 0x40)
            ctypes.memmove(self.addr, code, len(OPCODES))
    """
    assert "injection.shellcode" not in rules(source)


def test_a_cpuid_stub_decoded_from_hex_and_called_through_a_helper_is_no_shellcode():
    # An interpreter probe: the stub is spelled in hex, and the address is a parameter only of another function.
    source = """
    import ctypes
    def probe():
        code = bytes.fromhex("49 89 CA 89 D0 0F A2 41 89 02 C3")
        kernel32 = ctypes.CDLL("kernel32.dll")
        address = kernel32.VirtualAlloc(None, len(code), 0x3000, 0x04)
        ctypes.memmove(address, code, len(code))
        kernel32.VirtualProtect(address, len(code), 0x20, ctypes.byref(old))
        return _query(address)
    def _query(address):
        return ctypes.CFUNCTYPE(None)(address)
    """
    assert "injection.shellcode" not in rules(source)


def test_injection_shellcode_a_short_stub_that_makes_a_system_call_is_a_payload():
    source = """
    import ctypes
    code = bytes.fromhex("48 31 C0 B0 3B 0F 05 C3")
    kernel32 = ctypes.windll.kernel32
    address = kernel32.VirtualAlloc(None, len(code), 0x3000, 0x40)
    ctypes.memmove(address, code, len(code))
    """
    assert _lines(source, "injection.shellcode") == [5, 6]


def test_read_write_memory_copies_and_python_callbacks_are_no_shellcode():
    source = """
    import ctypes, mmap
    kernel32 = ctypes.windll.kernel32
    block = kernel32.VirtualAlloc(None, size, 0x3000, 0x04)
    kernel32.RtlMoveMemory(block, data, size)
    view = mmap.mmap(fileno, 0, prot=mmap.PROT_READ)
    CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
    handler = CALLBACK(on_event)
    ctypes.CFUNCTYPE(None)(log_message)
    """
    assert not {"injection.process-memory", "injection.shellcode"} & rules(source)


# --- injection.process-api: one half of the chain ------------------------------------------------------------
def test_injection_process_api_a_debuggers_wrappers_each_alone_are_no_injection():
    # A debugger library wraps each API in a method of its own module: the write here, the thread elsewhere.
    writes = """
    import win32
    class Process:
        def write(self, address, data):
            return win32.WriteProcessMemory(self.handle, address, data)
        def malloc(self, size):
            return win32.VirtualAllocEx(self.handle, None, size)
    """
    starts = """
    import win32
    class Thread:
        def start(self, process, address, parameter):
            return win32.CreateRemoteThread(process, 0, 0, address, parameter, 0)
        def set_context(self, context):
            win32.SetThreadContext(self.handle, context)
    """
    assert _lines(writes, "injection.process-api") == [5, 7]
    assert _lines(starts, "injection.process-api") == [5, 7]
    assert "injection.process-memory" not in rules(writes) | rules(starts)


def test_injection_process_memory_needs_a_write_and_a_start_in_the_file():
    source = """
    import ctypes
    kernel32 = ctypes.windll.kernel32
    def _put(process, payload):
        return kernel32.VirtualAllocEx(process, None, len(payload), 0x3000, 0x04)
    def _go(process, address):
        kernel32.QueueUserAPC(address, process, 0)
    """
    assert _lines(source, "injection.process-memory") == [5, 7]
    assert "injection.process-api" not in rules(source)
