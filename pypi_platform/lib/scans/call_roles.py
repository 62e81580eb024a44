"""What calls mean, by qualified name: the catalogue the syntax-tree rules key on.

A qualified name is what a call resolves to however it was reached (``from subprocess import Popen as P`` makes
``P`` mean ``subprocess.Popen``; see ``resolution.py``). Each target plays one or more roles, and each role has a
check in a rules module; the roles of the new behaviours live beside their checks.
"""

from __future__ import annotations

import re


def qualified(module: str, *names: str) -> set[str]:
    return {f"{module}.{name}" for name in names}


# --- what calls mean, by qualified name ----------------------------------------------------------------------
CODE_EVALUATORS = {"eval", "exec", "compile"}
# A code object turned into a function runs as surely as exec does; only decoded input makes it a finding.
CODE_OBJECT_RUNNERS = {"types.FunctionType"}
DECODERS = frozenset(
    qualified(
        "base64",
        "b64decode",
        "b32decode",
        "b32hexdecode",
        "b16decode",
        "b85decode",
        "a85decode",
        "urlsafe_b64decode",
        "standard_b64decode",
        "decodebytes",
        "decodestring",
    )
    | qualified("binascii", "unhexlify", "a2b_hex", "a2b_base64", "a2b_uu", "a2b_qp", "a2b_hqx")
    | {"codecs.decode", "zlib.decompress", "bz2.decompress", "lzma.decompress", "gzip.decompress"}
    | {"bytes.fromhex", "bytearray.fromhex", "marshal.loads"}
)
# Python 2 codecs still reachable through str.decode in old code: "...".decode("base64").
DECODING_CODECS = {"base64", "base_64", "hex", "rot13", "rot_13", "zlib", "zip", "bz2", "uu"}
DYNAMIC_IMPORTERS = {"__import__", "importlib.import_module"}
NATIVE_LOADERS = qualified("ctypes", "CDLL", "PyDLL", "WinDLL", "OleDLL", "LibraryLoader") | qualified(
    "_ctypes", "dlopen", "LoadLibrary"
)
# ctypes.cdll.LoadLibrary(...), ctypes.windll.kernel32.VirtualAlloc(...): any call through a library loader.
NATIVE_LOADER_PREFIXES = ("ctypes.cdll.", "ctypes.windll.", "ctypes.oledll.", "ctypes.pydll.")
MARSHAL_LOADERS = {"marshal.loads", "marshal.load"}
HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
NETWORK = (
    qualified("socket", "socket", "create_connection")
    | {"asyncio.open_connection"}
    | qualified("urllib.request", "urlopen", "Request", "urlretrieve")
    | qualified("urllib", "urlopen", "urlretrieve")  # Python 2
    | qualified("urllib2", "urlopen", "Request")  # Python 2
    | qualified("http.client", "HTTPConnection", "HTTPSConnection")
    | qualified("httplib", "HTTPConnection", "HTTPSConnection")  # Python 2
    | qualified("requests", *HTTP_VERBS, "Session", "session")
    | qualified("requests.api", *HTTP_VERBS)
    | qualified("requests.sessions", "Session")
    | qualified("httpx", *HTTP_VERBS, "stream", "Client", "AsyncClient")
    | qualified(
        "urllib3", "PoolManager", "ProxyManager", "HTTPConnectionPool", "HTTPSConnectionPool", "request"
    )
    | qualified("urllib3", "connection_from_url")
    | qualified("aiohttp", "ClientSession", "request")
    | qualified("ftplib", "FTP", "FTP_TLS")
    | qualified("smtplib", "SMTP", "SMTP_SSL", "LMTP")
    | qualified("telnetlib", "Telnet")
    | qualified("paramiko", "SSHClient", "Transport")
)
EXEC_SUFFIXES = ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")
PROCESS = (
    qualified(
        "subprocess", "run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput"
    )
    | qualified(
        "os", "system", "popen", "popen2", "popen3", "popen4", "startfile", "posix_spawn", "posix_spawnp"
    )
    | qualified("os", *(f"exec{suffix}" for suffix in EXEC_SUFFIXES))
    | qualified("os", *(f"spawn{suffix}" for suffix in EXEC_SUFFIXES))
    | {"pty.spawn", "commands.getoutput", "commands.getstatusoutput"}
    | qualified("asyncio", "create_subprocess_exec", "create_subprocess_shell")
)
OPENERS = {"open", "io.open", "codecs.open", "os.fdopen"}
WRITE_MODE_CHARS = frozenset("wax+")
WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}
SETUP_FUNCTIONS = {"setuptools.setup", "distutils.core.setup", "numpy.distutils.core.setup", "skbuild.setup"}
# Commands an installer runs when it builds from an sdist: install, develop and egg_info (metadata, run first),
# build and build_py (every wheel build runs them), bdist_* (the wheel itself). build_ext is left out (every
# C extension overrides it, so it says nothing), and so are sdist and test, which an installer never runs.
INSTALL_COMMANDS = {"install", "develop", "egg_info", "bdist_egg", "bdist_wheel", "build", "build_py"}
ENVIRONMENT = {"os.environ", "os.environb"}
SERIALISERS = (
    {"str", "repr", "json.dumps", "json.dump", "pickle.dumps", "pickle.dump", "marshal.dumps"}
    | {"urllib.parse.urlencode", "yaml.dump", "yaml.safe_dump"}
    | qualified(
        "base64", "b64encode", "b32encode", "b16encode", "b85encode", "a85encode", "urlsafe_b64encode"
    )
    | qualified("base64", "standard_b64encode", "encodebytes", "encodestring")
)
# Calls that hand their argument over unchanged, so dict(os.environ) is still the whole environment.
PASS_THROUGH = {"dict", "list", "tuple", "sorted", "set"}
ENVIRONMENT_VIEWS = {"copy", "items", "values"}
ENVIRONMENT_STEPS = 16  # wrappers looked through: dict(os.environ.copy()) takes three; hostile nesting is cut
# Methods on objects we cannot name (a socket, a session): sending the environment through them still counts.
SENDING_METHODS = {"send", "sendall", "sendto", "post", "put", "patch", "request", "urlopen"}
PATH_WRITERS = {"write_text", "write_bytes"}

# Builtins the rules care about: a bare name resolves to one of these unless the file rebinds it.
BUILTINS = {"eval", "exec", "compile", "open", "__import__", "getattr", "chr", "bytes", "bytearray"} | {
    "str",
    "repr",
    "__builtins__",
    *PASS_THROUGH,
    "globals",
    "locals",
    "vars",
    "map",
    "reversed",
    "type",
}
BUILTIN_MODULES = {"builtins", "__builtin__", "__builtins__"}

# Roles a qualified call target plays, for the checks in rules_code.py and rules_system.py.
CORE_ROLES: tuple[tuple[str, set[str] | frozenset[str]], ...] = (
    ("evaluate", CODE_EVALUATORS),
    ("code-object", CODE_OBJECT_RUNNERS),
    ("import", DYNAMIC_IMPORTERS),
    ("native", NATIVE_LOADERS),
    ("marshal", MARSHAL_LOADERS),
    ("network", NETWORK),
    ("process", PROCESS),
    ("open", OPENERS),
    ("os-open", {"os.open"}),
    ("setup", SETUP_FUNCTIONS),
    ("serialise", SERIALISERS),
    ("decode", DECODERS),
)


def call_roles(*tables: tuple[tuple[str, set[str] | frozenset[str]], ...]) -> dict[str, tuple[str, ...]]:
    """Qualified name -> its roles; one target can have several (marshal.loads decodes and loads code)."""
    roles: dict[str, set[str]] = {}
    for table in tables:
        for role, targets in table:
            for target in targets:
                roles.setdefault(target, set()).add(role)
    return {target: tuple(sorted(names)) for target, names in roles.items()}


def known_names(call_targets: dict[str, tuple[str, ...]]) -> frozenset[str]:
    """Every dotted prefix of a name the rules know: what a `from m import *` or an alias may stand for."""
    return frozenset(
        ".".join(parts[:end])
        for name in [*call_targets, *ENVIRONMENT, *(prefix.rstrip(".") for prefix in NATIVE_LOADER_PREFIXES)]
        for parts in [name.split(".")]
        for end in range(1, len(parts) + 1)
    )


# Downloads that are run: each entry is a set of patterns that must all match the command text.
SHELL_DOWNLOADS: tuple[tuple[re.Pattern[str], ...], ...] = tuple(
    tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)
    for patterns in (
        (
            r"\b(?:curl|wget)\b",
            r"(?:\||&&|;|\$\(|`|<\()\s*(?:sudo\s+)?(?:(?:(?:ba|z|da|k)?sh|python[0-9.]*|perl|ruby)\b"
            r"|\.?/[\w.]|chmod\s+(?:[ugoa]*\+x|[0-7]{3,4}))",
        ),
        (r"\b(?:ba|z|da|k)?sh\b[^|;&]*(?:\$\(|<\(|`)\s*(?:curl|wget)\b",),
        (
            r"\b(?:powershell|pwsh)(?:\.exe)?\b",
            r"(?:\s[-/]e(?:c|nc?[a-z]*)?(?:\s|$)|\biex\b|invoke-expression|downloadstring|downloadfile"
            r"|invoke-webrequest|\biwr\b|net\.webclient|start-bitstransfer)",
        ),
        (r"\bcertutil(?:\.exe)?\b", r"[-/]urlcache\b"),
        (r"\bbitsadmin(?:\.exe)?\b", r"[-/]transfer\b"),
    )
)
