"""Documentation links of a CLI, printed by `tool help links`."""

LINKS = {
    "tutorial": "https://docs.widgets.example/tutorial/",
    "changelog": "https://docs.widgets.example/changes/",
    "chat": "https://discord.gg/madeupinvite",
    "survey": "https://forms.gle/madeupSurvey1",
}


def print_links():
    for name, url in LINKS.items():
        print(f"{name:>10}: {url}")
