"""Findings of the scanner: a stable rule id, its severity and score, a path relative to the release file.

Every rule has a kind, which is what scoring correlates on (``scoring.py``):
- ``threat``: rarely legitimate on its own (decode-and-exec, a hard-coded secret, reading SSH keys).
- ``capability``: what ordinary code does too (network, processes, writing files); it matters next to a threat
  or at install time.
- ``anomaly``: something wrong with the file itself (archive tricks, parse failures, binaries in an sdist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Rule(NamedTuple):
    severity: str
    score: int
    kind: str  # threat | capability | anomaly


# Rule id -> definition. Ids are stable: consumers key on them across ruleset versions. Bump RULESET_VERSION
# whenever a rule's logic or score changes, so that cached per-file results are not reused.
RULESET_VERSION = "2026.12.3"

RULES: dict[str, Rule] = {
    # archive.py: the release file itself
    "archive.absolute-path": Rule("high", 50, "anomaly"),
    "archive.parent-path": Rule("high", 50, "anomaly"),
    "archive.link": Rule("medium", 30, "anomaly"),
    "archive.special-file": Rule("high", 50, "anomaly"),
    "archive.setuid": Rule("medium", 30, "anomaly"),
    "archive.oversize-member": Rule("medium", 20, "anomaly"),
    "archive.total-size": Rule("medium", 20, "anomaly"),
    "archive.too-many-members": Rule("medium", 20, "anomaly"),
    "archive.bomb": Rule("high", 60, "anomaly"),
    "archive.overlapping-entries": Rule("high", 60, "anomaly"),
    "archive.nested-too-deep": Rule("low", 10, "anomaly"),
    "archive.corrupt": Rule("low", 10, "anomaly"),
    "archive.unknown-format": Rule("low", 10, "anomaly"),
    # text_rules.py: raw text, whether or not it parses
    # A hard-coded credential is a leak that endangers its publisher, not the installer: reported at its
    # severity for whoever hunts leaks, counted as an anomaly (below the flag alone, in full beside a threat).
    "secret.aws-access-key": Rule("critical", 100, "anomaly"),
    "secret.github-token": Rule("critical", 100, "anomaly"),
    "secret.package-index-token": Rule("critical", 100, "anomaly"),
    "secret.slack-token": Rule("high", 80, "anomaly"),
    # Private keys ship as test fixtures (TLS clients test against their own certificates): worth a note.
    "secret.private-key": Rule("medium", 30, "anomaly"),
    # Where secrets live (SSH keys, cloud credentials, browser stores, wallets): SSH and cloud clients read them
    # honestly, so a capability, and a threat beside a way out (scoring.py: network or a process in the file).
    "credentials.sensitive-path": Rule("medium", 50, "capability"),
    # Client configuration with credentials (.netrc, .pypirc, docker and git credentials): every HTTP, upload
    # or registry client reads these next to its own network calls, so only install-time reads count.
    "credentials.client-config": Rule("medium", 20, "capability"),
    "network.paste-or-webhook-url": Rule("high", 50, "threat"),
    "text.bidi-or-invisible": Rule("high", 50, "threat"),
    "obfuscation.long-encoded-literal": Rule("medium", 30, "threat"),
    # ---- text, string-indicator, archive and packaging-config rules (indicators.py, text_rules.py,
    # archive.py, config_rules.py). Threat: rarely legitimate anywhere; capability: what honest code does too,
    # which scoring counts beside a way out, at install or import time.
    "secret.placeholder": Rule("low", 0, "capability"),  # key-shaped but a documented example or a typed run
    "network.reverse-shell": Rule("critical", 100, "threat"),  # bash -i >& /dev/tcp, nc -e, mkfifo | nc, ...
    # a reverse-shell command in a data or documentation file (signature lists, write-ups): data until run
    "network.reverse-shell-in-data": Rule("medium", 20, "capability"),
    # bash's /dev/tcp without a shell on it: a port probe
    "network.dev-tcp": Rule("medium", 20, "capability"),
    "network.messaging-api": Rule("low", 10, "capability"),  # a webhook or bot API path, no concrete endpoint
    "network.paste-site": Rule("medium", 20, "capability"),  # paste and file-drop hosts
    "network.url-shortener": Rule("medium", 20, "capability"),  # a short link hides where it goes
    "network.tunnel-host": Rule("high", 50, "threat"),  # a concrete ngrok/cloudflared/localtunnel endpoint
    "network.tunnel-service": Rule(
        "medium", 20, "capability"
    ),  # opening a tunnel (ngrok http, ssh -R serveo)
    # Request catchers (webhook.site, requestbin): documentation names them as examples, stealers post to them.
    "network.request-catcher": Rule("medium", 20, "capability"),
    "network.oast-host": Rule("high", 50, "threat"),  # interactsh/oast.*, Burp Collaborator, DNS loggers
    # The cloud metadata service hands out credentials: cloud clients query it honestly, exfiltration too.
    "network.cloud-metadata": Rule("medium", 20, "capability"),
    # A URL to a remote address literal: what a beacon or a stage-two download uses, and what docstrings, API
    # descriptions and bundled JavaScript name as examples. The call that fetches it is the threat (the Python
    # rules), so here a capability, which scoring counts at install and import time and beside a threat.
    "network.raw-ip-url": Rule("medium", 20, "capability"),
    "network.raw-ip-endpoint": Rule("medium", 20, "capability"),  # "ip", port or ip:port outside a URL
    # http://trusted.example@other.example/: deceptive, but only harmful where it is fetched.
    "network.url-userinfo-host": Rule("medium", 20, "capability"),
    "persistence.autostart-path": Rule("medium", 20, "capability"),  # Startup folder, LaunchAgents, systemd
    "persistence.registry-run-key": Rule("medium", 20, "capability"),  # ...\CurrentVersion\Run
    "persistence.cron": Rule("medium", 20, "capability"),  # crontab -, /etc/cron.d
    "persistence.shell-profile": Rule("medium", 20, "capability"),  # ~/.bashrc, ~/.zshrc, ~/.profile
    "archive.non-utf8-name": Rule("medium", 20, "anomaly"),  # a member name that is not valid UTF-8
    "archive.duplicate-member": Rule("medium", 20, "anomaly"),  # two members of one name: installers differ
    # pyproject.toml's backend-path: the build backend is code in the sdist, run by the installer.
    "install.in-tree-backend": Rule("medium", 20, "capability"),
    "config.malformed-pyproject": Rule("low", 10, "anomaly"),
    # ---- end of text, string-indicator, archive and packaging-config rules
    # python_rules.py: the syntax tree of Python source
    # eval/exec/compile of a computed value: how attrs, decorator and typing-extensions generate code, so a
    # capability; beside a network call it is remote code execution (scoring.py).
    "exec.dynamic-code": Rule("high", 40, "capability"),
    "exec.dynamic-import": Rule("medium", 30, "capability"),  # __import__/import_module of a computed name
    "exec.native-library": Rule("medium", 20, "capability"),  # ctypes loading a library
    "obfuscation.decode-and-exec": Rule("critical", 100, "threat"),  # exec(b64decode(...)), exec(zlib...)
    # Keys, certificates, test vectors and compressed tables are as dense as an encrypted payload; running one
    # takes a decoder (decode-and-exec), so a dense literal alone is an anomaly worth a look, not a threat.
    "obfuscation.high-entropy-literal": Rule("medium", 30, "anomaly"),
    # marshal.loads: code objects from bytes; bytecode caches (jinja2) do it honestly, exec of it is decode-and-exec
    "obfuscation.marshal-load": Rule("high", 40, "capability"),
    "install.cmdclass-override": Rule(
        "medium", 30, "capability"
    ),  # setup(cmdclass=...) replacing install/develop/egg_info
    # A .pth line that starts with "import" runs at every interpreter start; a known tool's hook is not this.
    "install.pth-executes-code": Rule("medium", 40, "threat"),
    "network.connection": Rule("low", 10, "capability"),
    "process.spawn": Rule("medium", 20, "capability"),
    "process.shell-download": Rule("critical", 100, "threat"),  # a shell command that fetches and runs
    "file.write": Rule("low", 5, "capability"),
    "credentials.environment-dump": Rule("high", 50, "threat"),  # the whole os.environ serialised or sent
    "parse.failed": Rule("medium", 30, "anomaly"),  # Python source the parser could not read
    "parse.node-limit": Rule("low", 10, "anomaly"),  # a tree too large to walk in full
    # ---- python behaviour rules (behaviours_*.py, identifiers.py, rules_install.py, python_rules.py)
    # A socket handed to a shell (fds dup2'd onto 0/1/2, pty.spawn) or a shell told to connect (nc -e, /dev/tcp).
    "backdoor.reverse-shell": Rule("critical", 100, "threat"),
    # A connection whose host is a literal public IP (v4 or v6): no name to resolve, no certificate to check.
    "network.literal-ip-connection": Rule("high", 50, "threat"),
    # Host data or secrets spelled into a name that is resolved: the lookup itself carries them out.
    "exfiltration.dns": Rule("high", 70, "threat"),
    # The user or host name, a directory listing, or a key, history or wallet file sent in a request, a mail or
    # over a socket (an API client's own token or a User-Agent naming the platform is not host data).
    "exfiltration.host-data": Rule("high", 60, "threat"),
    # Reading the clipboard or taking a screenshot: clipboard tools and test harnesses do both.
    "spyware.clipboard": Rule("medium", 20, "capability"),
    "spyware.screenshot": Rule("medium", 20, "capability"),
    # The clipboard read and replaced in a file that holds wallet addresses: payments redirected.
    "spyware.clipboard-hijack": Rule("high", 70, "threat"),
    # A global keyboard hook or key-state polling: automation tools do it, libraries almost never.
    "spyware.keylogger": Rule("high", 60, "threat"),
    # A browser's password, cookie or card store opened, or its encryption undone with DPAPI.
    "credentials.browser-data": Rule("high", 70, "threat"),
    # Chat-client token stores (leveldb) searched with a token pattern.
    "credentials.token-theft": Rule("high", 70, "threat"),
    # A file that was downloaded (or written from fetched bytes) then run or made executable.
    "dropper.download-and-run": Rule("critical", 90, "threat"),
    "process.start-file": Rule("medium", 20, "capability"),  # os.startfile: open with the associated program
    # Writing into another process and starting a thread there: what injectors do, nothing else.
    "injection.process-memory": Rule("critical", 100, "threat"),
    # One half of that chain only (memory allocated or written in a process, or a thread started or redirected
    # in one): debuggers wrap each call in a method of its own and memory tests allocate; injection needs both.
    "injection.process-api": Rule("medium", 20, "capability"),
    # Machine code run in the own process: executable memory allocated or mapped, bytes copied there and started
    # as a thread or cast to a function. JIT compilers do this in C, not through ctypes; loaders of payloads do.
    "injection.shellcode": Rule("critical", 90, "threat"),
    # A fetch, spawn or exec reached through getattr/import_module/globals() with constant names: honest code
    # imports what it calls; hiding the name from readers and scanners is the only reason to look it up.
    "obfuscation.indirect-call": Rule("medium", 20, "capability"),
    # A request to a "what is my IP" service. Not a threat alone (dynamic-DNS clients and network diagnostics
    # ask too), but libraries almost never need the machine's public address and stealers always record it,
    # so it is reported at medium and weighs where capabilities are suspicious (import time, beside a theft).
    "recon.public-ip-lookup": Rule("medium", 20, "capability"),
    # A native library loaded from a temporary or download folder, or by a name hidden from patterns.
    "exec.native-library-sideload": Rule("high", 60, "threat"),
    # Persistence written (not merely named): autostart folders and registry run keys are rarely a library's
    # business; crontabs and shell rc files are also edited by honest installers of CLI tools.
    "persistence.write-autostart": Rule("high", 70, "threat"),
    "persistence.write-registry-run": Rule("high", 70, "threat"),
    "persistence.write-cron": Rule("high", 40, "capability"),
    "persistence.write-shell-rc": Rule("medium", 30, "capability"),
    # An install or build command's run() that fetches, spawns or runs code: the classic setup.py payload.
    "install.cmdclass-runs-code": Rule("high", 70, "threat"),
    # An identifier the tokenizer normalises to another ASCII name (full-width exec), or mixing scripts.
    "obfuscation.homoglyph-identifier": Rule("high", 60, "threat"),
    # A .pth line of a well-known tool (setuptools, coverage, virtualenv, editable installs): noted, not scored.
    "install.pth-known-hook": Rule("low", 0, "capability"),
    # correlation.py: a network call in a file that collects what stealers collect carries it out.
    "exfiltration.send": Rule("high", 60, "threat"),
    # ---- end of python behaviour rules
    # ---- parsing rules (parsing.py)
    # A statement only a newer Python's grammar reads (type aliases and type parameters before 3.12, ...): it
    # runs there, so no evasion and no score; it is respelled in older syntax and scanned.
    "parse.newer-syntax": Rule("low", 0, "anomaly"),
    # ---- end of parsing rules
    # binaries.py and typosquat.py: the release as a whole
    "binary.executable-in-sdist": Rule("high", 50, "anomaly"),
    "metadata.typosquat": Rule("high", 50, "threat"),
    # ---- stealer stages (behaviours_spyware.py, credential_stores.py)
    # Text searched (findall, finditer) with the pattern of a 12- to 24-word recovery phrase: a wallet's seed
    # hunted in the user's files. Wallet libraries validate a phrase whole (match, fullmatch); they never search.
    "credentials.seed-phrase-search": Rule("high", 70, "threat"),
    # A folder or file copied or archived in a file that names credential stores: the loot gathered before it is
    # sent. Backup tools copy folders too, so it is a capability that weighs beside a theft.
    "exfiltration.staging": Rule("medium", 20, "capability"),
}

KINDS = ("threat", "capability", "anomaly")
assert all(rule.kind in KINDS for rule in RULES.values())


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    score: int
    path: str  # relative to the release file, never a path on the scanning machine
    line: int | None = None
    evidence: str = ""
    # Code at a module's top level runs when the package is imported, where a capability means more.
    at_import: bool = False

    @classmethod
    def of(
        cls, rule: str, path: str, *, line: int | None = None, evidence: str = "", at_import: bool = False
    ) -> Finding:
        definition = RULES[rule]
        return cls(rule, definition.severity, definition.score, path, line, evidence, at_import)

    @property
    def kind(self) -> str:
        return RULES[self.rule].kind
