"""A Discord bot's configuration: the token comes from the environment, as discord.py recommends."""

import os
import re

import discord

# The shape of a bot token, used only to warn when someone pastes a client secret instead.
TOKEN_SHAPE = re.compile(r"^[\w-]{24,26}\.[\w-]{6}\.[\w-]{27,38}$")


def bot_token():
    token = os.environ.get("DISCORD_BOT_TOKEN", "")
    if not TOKEN_SHAPE.match(token):
        raise SystemExit("DISCORD_BOT_TOKEN does not look like a bot token")
    return token


def run(client: discord.Client):
    client.run(bot_token())
