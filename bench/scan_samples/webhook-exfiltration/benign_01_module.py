"""Notify a chat channel when a job ends. Every URL and token comes from the user's configuration.

Configuration example (values are placeholders)::

    [notify]
    discord = https://discord.com/api/webhooks/<id>/<token>
    slack = https://hooks.slack.com/services/<team>/<channel>/<secret>
    telegram_token = <bot token from @BotFather>
"""

import configparser
import os

import requests


def _config(path="~/.config/jobnotify.ini"):
    parser = configparser.ConfigParser()
    parser.read(os.path.expanduser(path))
    return parser["notify"] if parser.has_section("notify") else {}


def notify(message):
    config = _config()
    if "discord" in config:
        requests.post(config["discord"], json={"content": message}, timeout=10)
    if "slack" in config:
        requests.post(config["slack"], json={"text": message}, timeout=10)
    if "telegram_token" in config:
        url = f"https://api.telegram.org/bot{config['telegram_token']}/sendMessage"
        requests.post(url, data={"chat_id": config["telegram_chat"], "text": message}, timeout=10)
