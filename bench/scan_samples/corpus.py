"""The labelled corpus of malicious behaviours and their benign look-alikes (README.md in this folder).

Read by ``bench/scan_eval`` and by the corpus's shape test. No scanner import here: this module only reads the
sample files, finds the labelled statements and packages each sample as an sdist (and a wheel where one fits),
so the same code serves a benchmark and a test that must not depend on the rules.
"""

from __future__ import annotations

import ast
import base64
import gzip
import hashlib
import io
import re
import tarfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent
LABELS = ("malicious", "benign")
# A sample file: <label>_<nn>_<place>.<suffix>. Files sharing <label>_<nn> in one behaviour are one package.
SAMPLE_NAME = re.compile(r"^(malicious|benign)_(\d{2})_([a-z]+)\.(py|pth|toml)$")
# Where each place lands in the release, "{pkg}" being the sample's import package.
PLACES = {
    "setup": "setup.py",
    "init": "{pkg}/__init__.py",
    "module": "{pkg}/core.py",
    "main": "{pkg}/__main__.py",
    "pth": "{pkg}_init.pth",
    "pyproject": "pyproject.toml",
    "backend": "_build/backend.py",
    "hatchhook": "hatch_build.py",
}
# What a build puts in a wheel; setup.py and build files stay out of it.
IN_WHEEL = {"init", "module", "main", "pth"}
# The label: a trailing comment on a statement's first line. Behaviour ids are lower-case words and hyphens only,
# so the comment holds no path, host or call a text rule could take for code.
MARKER = re.compile(r"#\s*malicious:\s*(\S+)\s*$")
BEHAVIOUR_ID = re.compile(r"^[a-z]+(?:-[a-z]+)*$")
# A header comment that excuses a file from parsing: "unparseable" (on purpose, for every Python) or
# "needs python 3.12" (syntax newer than some interpreters that run the corpus).
PARSE_NOTE = re.compile(r"^#\s*scan-sample:\s*(unparseable\b.*|needs python (\d+)\.(\d+))", re.MULTILINE)
_TAR_MTIME = 315532800  # 1980-01-01: reproducible archives
_MAX_STATEMENT_LINES = 80


@dataclass(frozen=True)
class Label:
    behaviour: str
    sample: str  # path of the sample file, relative to CORPUS_DIR
    member: str  # where it lands in the release, relative to the sdist root
    first: int
    last: int
    text: str  # the statement's first line, for reports


@dataclass(frozen=True)
class Sample:
    """One package: a behaviour's malicious or benign sample, of one or more files."""

    behaviour: str
    label: str
    number: str
    files: tuple[Path, ...]

    @property
    def name(self) -> str:
        return f"{self.behaviour}-{self.label[0]}{self.number}"

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    def member(self, path: Path) -> str:
        place = SAMPLE_NAME.match(path.name).group(3)
        return PLACES[place].format(pkg=self.package)

    def members(self) -> dict[str, bytes]:
        return {self.member(path): path.read_bytes() for path in self.files}


def behaviours(root: Path = CORPUS_DIR) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def samples(root: Path = CORPUS_DIR) -> list[Sample]:
    """Every sample package, grouped by behaviour, label and number."""
    groups: dict[tuple[str, str, str], list[Path]] = {}
    for behaviour in behaviours(root):
        for path in sorted((root / behaviour).iterdir()):
            match = SAMPLE_NAME.match(path.name)
            if match:
                groups.setdefault((behaviour, match.group(1), match.group(2)), []).append(path)
    return [Sample(b, label, n, tuple(files)) for (b, label, n), files in sorted(groups.items())]


def stray_files(root: Path = CORPUS_DIR) -> list[Path]:
    """Files in a behaviour folder that are not samples by name (a typo would silently drop a sample)."""
    return [
        path
        for behaviour in behaviours(root)
        for path in sorted((root / behaviour).iterdir())
        if not SAMPLE_NAME.match(path.name)
    ]


def parse_note(text: str) -> str | None:
    match = PARSE_NOTE.search(text)
    return match.group(1) if match else None


def labels(sample: Sample, root: Path = CORPUS_DIR) -> list[Label]:
    """The labelled statements of a sample: a marker's line to the end of the statement that starts there."""
    found = []
    for path in sample.files:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        marked = [(number, m.group(1)) for number, line in enumerate(lines, 1) if (m := MARKER.search(line))]
        if not marked:
            continue
        extents = _statement_extents(text) if path.suffix == ".py" else {}
        for number, behaviour in marked:
            last = number
            if path.suffix == ".py":
                last = extents.get(number) or _extent_by_pieces(lines, number)
            found.append(
                Label(
                    behaviour,
                    str(path.relative_to(root)),
                    sample.member(path),
                    number,
                    last,
                    lines[number - 1].strip(),
                )
            )
    return found


def _statement_extents(text: str) -> dict[int, int]:
    """First line -> last line of the outermost statement starting on each line (empty if the text does not
    parse with this interpreter's grammar)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    extents: dict[int, int] = {}
    for node in ast.walk(tree):  # breadth first: an outer statement is seen before the ones inside it
        if isinstance(node, ast.stmt) and node.lineno not in extents:
            extents[node.lineno] = node.end_lineno or node.lineno
    return extents


def _extent_by_pieces(lines: list[str], first: int) -> int:
    """In a file that does not parse as a whole: the shortest run of lines from `first` that parses alone."""
    for last in range(first, min(len(lines), first + _MAX_STATEMENT_LINES) + 1):
        piece = textwrap.dedent("\n".join(lines[first - 1 : last]))
        try:
            ast.parse(piece)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        return last
    return first


# ---- release files: each sample as an sdist, and a wheel where its files belong in one ----------------------


def release_files(sample: Sample, version: str = "1.0") -> list[tuple[str, bytes, str]]:
    """(filename, bytes, package type) of the sample's sdist and, where it fits, its wheel."""
    members = sample.members()
    places = {SAMPLE_NAME.match(path.name).group(3) for path in sample.files}
    files = [(f"{sample.package}-{version}.tar.gz", _sdist(sample, version, members), "sdist")]
    if places & IN_WHEEL:
        inside = {
            sample.member(path): path.read_bytes()
            for path in sample.files
            if SAMPLE_NAME.match(path.name).group(3) in IN_WHEEL
        }
        files.append(
            (f"{sample.package}-{version}-py3-none-any.whl", _wheel(sample, version, inside), "wheel")
        )
    return files


def _metadata(sample: Sample, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {sample.name}\nVersion: {version}\n".encode()


def _sdist(sample: Sample, version: str, members: dict[str, bytes]) -> bytes:
    stem = f"{sample.package}-{version}"
    entries = {"PKG-INFO": _metadata(sample, version)}
    if "pyproject.toml" not in members:
        entries["pyproject.toml"] = (
            '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{sample.name}"\nversion = "{version}"\n'
        ).encode()
    entries.update(members)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, data in entries.items():
            info = tarfile.TarInfo(f"{stem}/{path}")
            info.size, info.mtime, info.mode = len(data), _TAR_MTIME, 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def _wheel(sample: Sample, version: str, members: dict[str, bytes]) -> bytes:
    dist_info = f"{sample.package}-{version}.dist-info"
    files = dict(members)
    files[f"{dist_info}/METADATA"] = _metadata(sample, version)
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: scan-samples\nRoot-Is-Purelib: true\n"
    files[f"{dist_info}/WHEEL"] += b"Tag: py3-none-any\n\n"
    record = "".join(f"{path},sha256={_digest(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = f"{record}{dist_info}/RECORD,,\n".encode()
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)
    return raw.getvalue()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
