"""A remote debugger: pdb over a socket, for processes without a terminal (daemons, containers).

Listens on the loopback interface only; connect with `nc 127.0.0.1 4444` or `telnet localhost 4444`.
"""

import pdb
import socket
import sys


class RemotePdb(pdb.Pdb):
    def __init__(self, host="127.0.0.1", port=4444):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(1)
        print(f"RemotePdb waiting on {host}:{port}", file=sys.stderr)
        connection, _ = self.listener.accept()
        self.handle = connection.makefile("rw")
        super().__init__(stdin=self.handle, stdout=self.handle)

    def do_continue(self, arg):
        self.handle.close()
        self.listener.close()
        return super().do_continue(arg)


def set_trace(host="127.0.0.1", port=4444):
    RemotePdb(host, port).set_trace(sys._getframe().f_back)
