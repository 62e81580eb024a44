"""Process injection and shellcode at the syntax-tree level: another process opened with the rights to write
into it, memory made executable (VirtualAlloc, VirtualProtect, mmap with PROT_EXEC), bytes copied there and run
as a thread or cast to a function.

Windows APIs reached through ctypes are matched by the function's name, whichever way the library object was
reached (``kernel32.OpenProcess``, ``ctypes.windll.kernel32.VirtualAlloc``). Each allocation or protection call
is judged by its arguments: read-write memory and read-only process handles are what honest code asks for.
"""

from __future__ import annotations

import ast

from pypi_platform.lib.scans.syntax_walk import argument, identifier

# Process rights that let a caller write into another process and start threads there.
_FULL_ACCESS_NAMES = {"PROCESS_ALL_ACCESS", "PROCESS_VM_WRITE", "PROCESS_CREATE_THREAD"}
_FULL_ACCESS_VALUES = {0x1F0FFF, 0x1FFFFF}
_VM_WRITE, _CREATE_THREAD = 0x0020, 0x0002
# What is done with such a handle when it injects: memory written or mapped into the process, a thread or an APC
# started there. A handle opened with all rights and used for nothing of the kind (to change the process's
# security, as administration scripts do) writes nothing.
_USES_OF_A_WRITE_HANDLE = {
    "VirtualAllocEx",
    "WriteProcessMemory",
    "CreateRemoteThread",
    "CreateRemoteThreadEx",
    "NtWriteVirtualMemory",
    "NtCreateThreadEx",
    "RtlCreateUserThread",
    "QueueUserAPC",
    "NtUnmapViewOfSection",
    "ZwUnmapViewOfSection",
    "SetThreadContext",
}
# The two halves of an injection: room made or bytes written in a process (or its image unmapped, to hollow it),
# and code started or redirected there.
_PROCESS_WRITES = {
    "VirtualAllocEx",
    "WriteProcessMemory",
    "NtWriteVirtualMemory",
    "NtUnmapViewOfSection",
    "ZwUnmapViewOfSection",
    "NtMapViewOfSection",
}
_PROCESS_STARTS = {
    "CreateRemoteThread",
    "CreateRemoteThreadEx",
    "NtCreateThreadEx",
    "RtlCreateUserThread",
    "QueueUserAPC",
    "SetThreadContext",
}
# PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY.
_EXECUTABLE_PAGES = {0x10, 0x20, 0x40, 0x80}
# The position of the protection argument; VirtualAllocEx is one half of an injection whatever it asks.
_ALLOCATORS = {"VirtualAlloc": 3, "VirtualProtect": 2, "VirtualProtectEx": 3}
# Calls that copy into or start code at an address: they mean shellcode only once executable memory exists.
_RUNNERS = {"RtlMoveMemory", "RtlCopyMemory", "CreateThread", "memmove"}
_FUNCTION_TYPES = {"ctypes.CFUNCTYPE", "ctypes.WINFUNCTYPE", "ctypes.PYFUNCTYPE"}
# What an address in raw memory is taken from: casting it to a function runs whatever bytes are there.
_ADDRESS_SOURCES = {"addressof", "from_buffer", "VirtualAlloc", "VirtualAllocEx", "c_void_p"}
_LOOKED_AT = 200  # nodes read in one call's arguments
_PROBE_STUB_BYTES = 64
_SYSTEM_CALL_OPCODES = (
    b"\x0f\x05",
    b"\xcd\x80",
    b"\x0f\x34",
    b"\xcd\x2e",
)  # syscall, int 0x80, sysenter, int 0x2e
_CALLS_LOOKED_AT = 100_000  # calls of a file searched for a decoder

ROLES = (
    ("mmap", {"mmap.mmap"}),
    ("function-type", _FUNCTION_TYPES),
)


def _constant_int(node: ast.AST) -> int | None:
    return node.value if node.__class__ is ast.Constant and node.value.__class__ is int else None


def _values(scan, expr: ast.expr | None, scope: int) -> list[ast.AST]:
    """The nodes of an argument and of what the names in it were assigned (module constants such as
    PAGE_EXECUTE_READWRITE = 0x40), within a bound."""
    if expr is None:
        return []
    found = []
    for node in scan.subtree([expr], scope, follow_names=True):
        found.append(node)
        if len(found) >= _LOOKED_AT:
            break
    return found


def _names_or_values(scan, expr: ast.expr | None, scope: int, names: set[str], test) -> str | None:
    """The first name in `names`, or constant passing `test`, in an argument (the names followed once)."""
    for node in _values(scan, expr, scope):
        name = identifier(node)
        if name in names:
            return name
        value = _constant_int(node)
        if value is not None and test(value):
            return hex(value)
    return None


def check_open_process(scan, call: ast.Call, scope: int, method: str) -> None:
    """OpenProcess(PROCESS_ALL_ACCESS, ...): a handle that may write another process's memory, reported when the
    file also writes or starts code in a process (see finish). A query-only handle
    (PROCESS_QUERY_LIMITED_INFORMATION) is what task managers and profilers ask for."""
    access = _names_or_values(
        scan,
        argument(call, 0, "dwDesiredAccess"),
        scope,
        _FULL_ACCESS_NAMES,
        lambda value: value in _FULL_ACCESS_VALUES or value & (_VM_WRITE | _CREATE_THREAD) != 0,
    )
    if access is not None:
        evidence = f"{method} with {access}: write access to a process"
        scan.facts.setdefault("write-handles", []).append((call, evidence))


def check_allocation(scan, call: ast.Call, scope: int, method: str) -> None:
    """VirtualAlloc/VirtualProtect asking for executable pages: room for machine code. In another process
    (the -Ex forms) it is injection; in this one it is shellcode about to run."""
    position = _ALLOCATORS[method]
    protection = call.args[position] if len(call.args) > position else None
    if protection is None:
        protection = next((k.value for k in call.keywords if k.arg in ("flProtect", "flNewProtect")), None)
    nodes = _values(scan, protection, scope)
    executable = next((name for node in nodes if (name := identifier(node)) and "EXECUTE" in name), None)
    if executable is None:
        executable = next(
            (hex(node.value) for node in nodes if _constant_int(node) in _EXECUTABLE_PAGES), None
        )
    if executable is None:
        return
    scan.facts.setdefault("executable-memory", []).append(call)
    evidence = f"{method} with {executable}: executable memory"
    if method.endswith("Ex"):
        scan.add("injection.process-memory", call, evidence=evidence)
    else:
        scan.facts.setdefault("shellcode", []).append((call, evidence))


def check_process_write(scan, call: ast.Call, scope: int, method: str) -> None:
    scan.facts.setdefault("process-writes", []).append((call, method))


def check_process_start(scan, call: ast.Call, scope: int, method: str) -> None:
    scan.facts.setdefault("process-starts", []).append((call, method))


def check_runner(scan, call: ast.Call, scope: int, method: str) -> None:
    scan.facts.setdefault("memory-runners", []).append(call)


def check_mmap(scan, call: ast.Call, scope: int, target: str) -> None:
    """mmap.mmap(..., prot=... | PROT_EXEC): an executable mapping; file readers never ask for one."""
    for node in _values(scan, argument(call, 3, "prot"), scope):
        if identifier(node) == "PROT_EXEC":
            scan.facts.setdefault("executable-memory", []).append(call)
            scan.facts.setdefault("shellcode", []).append((call, "mmap with PROT_EXEC: executable memory"))
            return


def check_function_type(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.facts.setdefault("function-types", set()).add(id(call))


def _raw_address(scan, expr: ast.expr, scope: int) -> bool:
    for node in _values(scan, expr, scope):
        if node.__class__ is ast.Call:
            name = identifier(node.func)
            if name in _ADDRESS_SOURCES:
                return True
    return False


def finish(scan) -> None:
    """Once executable memory exists, the calls that copy into it or start it are shellcode too; and a
    function type applied to a raw address (CFUNCTYPE(c_int)(address)) runs the bytes there. Applied to a
    Python function, as callbacks are made, it runs nothing foreign."""
    _judge_process_calls(scan)
    handles = scan.facts.get("write-handles", ())
    if handles and _writes_into_a_process(scan):
        for call, evidence in handles:
            scan.add("injection.process-memory", call, evidence=evidence)
    found = list(scan.facts.get("shellcode", ()))
    if scan.facts.get("executable-memory"):
        for call in scan.facts.get("memory-runners", ()):
            found.append((call, "code copied to or started in executable memory"))
    types = scan.facts.get("function-types")
    for call, scope in scan.calls if types else ():
        if call.func.__class__ is ast.Call and id(call.func) in types and call.args:
            scan.scope_now = scope
            if _raw_address(scan, call.args[0], scope):
                found.append((call, "a function type cast onto a raw memory address"))
    if found and _runs_foreign_code(scan, [call for call, _ in found]):
        for call, evidence in found:
            scan.add("injection.shellcode", call, evidence=evidence)


def _judge_process_calls(scan) -> None:
    """Memory written into a process and a thread started there (or a handle opened to write it), both in the
    file, is an injection; either half alone is what debuggers (one wrapper method per call, each in its own module) and memory tests do."""
    writes, starts = scan.facts.get("process-writes", ()), scan.facts.get("process-starts", ())
    chained = bool(writes) and bool(starts or scan.facts.get("write-handles"))
    for call, method in (*writes, *starts):
        if chained:
            scan.add("injection.process-memory", call, evidence=f"{method} beside a write and a start")
        else:
            scan.add(
                "injection.process-api", call, evidence=f"{method} without the other half of an injection"
            )


def _writes_into_a_process(scan) -> bool:
    return any(identifier(call.func) in _USES_OF_A_WRITE_HANDLE for call, _ in scan.calls[:_CALLS_LOOKED_AT])


def _runs_foreign_code(scan, calls: list[ast.Call]) -> bool:
    """Whether the machine code comes from outside the file: the file fetches, decodes something that is not a
    short probe, or the memory is sized or filled from a parameter of the function around the call (the payload
    handed in). A stub of a few opcodes spelled in the file itself (a CPUID probe, as dataframe libraries and
    interpreter probes run to pick their build) runs nothing foreign."""
    if scan.facts.get("network"):
        return True
    for call, scope in scan.calls[:_CALLS_LOOKED_AT]:
        if "decode" in scan.roles_of(scan.resolve(call.func) or "") and not _a_probe_stub(
            scan.folder.value(call, scope)
        ):
            return True
    functions = [
        node
        for node in ast.walk(scan.tree)
        if node.__class__ in (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
    ]
    for call in calls:
        parameters = {
            parameter.arg
            for function in functions
            if function.lineno <= call.lineno <= (function.end_lineno or function.lineno)
            for parameter in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)
        } - {"self", "cls"}
        if parameters and any(
            node.__class__ is ast.Name and node.id in parameters
            for argument in call.args
            for node in ast.walk(argument)
        ):
            return True
    return False


def _a_probe_stub(decoded: object) -> bool:
    """A few dozen bytes of machine code without a system call: too short to find and call an operating
    system function, which every payload must; what CPU feature probes (cpuid, xgetbv) look like."""
    if decoded.__class__ not in (bytes, bytearray) or len(decoded) > _PROBE_STUB_BYTES:
        return False
    return not any(opcode in decoded for opcode in _SYSTEM_CALL_OPCODES)


CHECKS = {"mmap": check_mmap, "function-type": check_function_type}
METHOD_CHECKS = {"OpenProcess": check_open_process}
METHOD_CHECKS.update(dict.fromkeys(_ALLOCATORS, check_allocation))
METHOD_CHECKS.update(dict.fromkeys(_RUNNERS, check_runner))
METHOD_CHECKS.update(dict.fromkeys(_PROCESS_WRITES, check_process_write))
METHOD_CHECKS.update(dict.fromkeys(_PROCESS_STARTS, check_process_start))
