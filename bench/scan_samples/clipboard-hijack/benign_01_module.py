"""Copy a generated password or a share link to the clipboard for the user, on request."""

import secrets
import string

import pyperclip


def generate_password(length=20):
    alphabet = string.ascii_letters + string.digits + "-_.!"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def copy_password(length=20):
    password = generate_password(length)
    pyperclip.copy(password)
    print("Password copied to the clipboard.")
    return password


def paste_into_prompt():
    """`tool login --from-clipboard`: read a token the user just copied."""
    token = pyperclip.paste().strip()
    if not token:
        raise SystemExit("the clipboard is empty")
    return token
