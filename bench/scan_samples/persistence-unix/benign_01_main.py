"""`mytool completions --install`: adds one line to the user's shell rc file, after asking, and says so."""

import sys
from pathlib import Path

SNIPPET = 'eval "$(mytool completions bash)"  # added by mytool completions --install\n'


def install_completions(shell="bash", assume_yes=False):
    rc = Path.home() / (".zshrc" if shell == "zsh" else ".bashrc")
    if rc.exists() and SNIPPET in rc.read_text():
        print(f"already installed in {rc}")
        return
    if not assume_yes and input(f"Append completion setup to {rc}? [y/N] ").lower() != "y":
        return
    with rc.open("a") as fh:
        fh.write(SNIPPET)
    print(f"added to {rc}; open a new shell to use it")


if __name__ == "__main__":
    install_completions(assume_yes="--yes" in sys.argv)
