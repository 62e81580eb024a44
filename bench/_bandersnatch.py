"""bandersnatch for bench/mirror_vs_bandersnatch: its own venv (it needs Python >= 3.12) and its config."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PYTHONS = [Path(f"/root/.pyenv/versions/{v}/bin/python{v[:-2]}") for v in ("3.12.1", "3.13.0")]


def ensure_bandersnatch(venv: Path) -> tuple[Path, str]:
    """The bandersnatch command in `venv`, installed there (latest release) on first use; its version."""
    exe = venv / "bin" / "bandersnatch"
    if not exe.exists():
        python = next((str(p) for p in PYTHONS if p.exists()), None) or shutil.which("python3.12")
        if python is None:
            sys.exit(
                "bandersnatch 8.x needs Python >= 3.12; none found (tried pyenv 3.12.1 / 3.13.0, python3.12)"
            )
        print(f"creating {venv} with {python} and installing bandersnatch into it (set-up, not timed)")
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "bandersnatch"], check=True
        )
    probe = [str(venv / "bin" / "python"), "-c", "import bandersnatch; print(bandersnatch.__version__)"]
    return exe, subprocess.run(probe, check=True, capture_output=True, text=True).stdout.strip()


def write_config(
    path: Path, *, directory: Path, master: str, names: list[str], workers: int, compare: str
) -> None:
    """Mirror `names`, latest release only, JSON and core metadata on: the settings of bandersnatch's
    published baseline."""
    packages = "".join(f"\n    {name}" for name in names)
    path.write_text(
        "[mirror]\n"
        f"directory = {directory}\n"
        f"master = {master}\n"
        "allow-non-https = true\n"  # the fake index speaks plain http on 127.0.0.1
        "json = true\n"
        "release-files = true\n"
        "core-metadata = true\n"
        "hash-index = false\n"
        "simple-format = ALL\n"
        f"compare-method = {compare}\n"
        f"workers = {workers}\n"
        "timeout = 10\n"
        "global-timeout = 1800\n"
        "stop-on-error = false\n\n"
        "[plugins]\nenabled =\n    allowlist_project\n    latest_release\n\n"
        f"[allowlist]\npackages ={packages}\n\n"
        "[latest_release]\nkeep = 1\n"
    )
