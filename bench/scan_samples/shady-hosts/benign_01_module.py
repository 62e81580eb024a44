"""A development server helper: exposes the local app through a tunnel the developer starts, for webhooks."""

import subprocess

DOCS = {
    "ngrok": "https://ngrok.com/docs/getting-started/",
    "cloudflared": "https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/",
}


def start_tunnel(port=8000, tool="ngrok"):
    if tool == "ngrok":
        return subprocess.Popen(["ngrok", "http", str(port)])
    return subprocess.Popen(["cloudflared", "tunnel", "--url", f"http://localhost:{port}"])


def public_url(api="http://127.0.0.1:4040/api/tunnels"):
    import json
    import urllib.request

    with urllib.request.urlopen(api) as response:
        return json.load(response)["tunnels"][0]["public_url"]
