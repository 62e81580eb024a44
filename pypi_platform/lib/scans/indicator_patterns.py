"""The indicator catalogue: (rule, anchors, pattern, judge). ``indicators.py`` runs it; ``indicator_judges.py``
holds the judges that tell a real indicator from its look-alike.

A pattern runs only if one of its anchors (plain literals, case-sensitive) is in the text, so every anchor must
occur in every text the pattern can match. Patterns of hosts start at a character class and are therefore only
ever run on texts that name one of the hosts.
"""

from __future__ import annotations

import re

from pypi_platform.lib.scans import indicator_judges as judges

_I = re.IGNORECASE
_HOST_START = r"(?<![\w.@-])"  # a host name starts here, not inside a longer name or after "user@"


def _hosts(*names: str) -> str:
    return "(?:" + "|".join(re.escape(name) for name in names) + ")"


# Paste and file-drop sites: where stolen data is posted and payloads are fetched from.
_PASTE_HOSTS = (
    "pastebin.com", "paste.ee", "hastebin.com", "hastebin.skyra.pw", "ghostbin.com", "ghostbin.co",
    "rentry.co", "rentry.org", "transfer.sh", "file.io", "anonfiles.com", "gofile.io", "0x0.st", "termbin.com",
    "dpaste.com", "dpaste.org", "ix.io", "sprunge.us", "paste.rs", "controlc.com", "bashupload.com", "temp.sh",
    "catbox.moe", "pastes.io", "paste.c-net.org",
)  # fmt: skip
# A paste site's own pages and upload endpoints, which clients and docs name: no paste id.
_SITE_PAGES = r"(?!(?:documents|api|about|login|signup|faq|help|upload|docs|archive|raw|tools|settings)\b)"
_SHORTENERS = (
    "bit.ly", "tinyurl.com", "is.gd", "v.gd", "cutt.ly", "rb.gy", "t.ly", "shorturl.at", "ow.ly", "tiny.cc",
    "rebrand.ly", "t.co", "goo.gl", "bl.ink", "s.id", "clck.ru", "u.to", "urlz.fr", "shorturl.asia", "tiny.one",
)  # fmt: skip
_TUNNELS = (
    "ngrok.io", "ngrok-free.app", "ngrok.app", "ngrok-free.dev", "ngrok.dev", "trycloudflare.com", "loca.lt",
    "localtunnel.me", "serveo.net", "serveousercontent.com", "pinggy.io", "pinggy.link", "pinggy.online",
    "localhost.run", "lhr.life", "bore.pub", "tunnelto.dev", "telebit.io",
)  # fmt: skip
# Request catchers: developer tools that show what a client sent; documentation uses them as examples too.
_CATCHERS = (
    "webhook.site", "requestbin.net", "requestbin.com", "m.pipedream.net", "beeceptor.com", "requestcatcher.com",
)  # fmt: skip
# Out-of-band callback hosts of security testing (OAST) and DNS loggers: a package has no honest use for them,
# and dependency-confusion probes report home through them.
_OAST = (
    "oast.fun", "oast.pro", "oast.live", "oast.site", "oast.online", "oast.me", "oastify.com", "interact.sh",
    "interactsh.com", "burpcollaborator.net", "dnslog.cn", "dnslog.link", "ceye.io", "canarytokens.com",
    "canarytokens.org", "eyes.sh",
)  # fmt: skip
# The service's own pages, which clients and docs name: not a tunnel someone opened.
_SERVICE_LABELS = r"(?!(?:www|api|dashboard|docs|dl|bin|download|connect|equinox)\.)"
_PERSISTENCE_DIRS = (
    "Start Menu", "Startup", "LaunchAgents", "LaunchDaemons", "autostart", "systemd/user", "init.d", "rc.local",
    "profile.d",
)  # fmt: skip
_WALLET_EXTENSIONS = (
    # browser extension ids of crypto wallets (MetaMask, Binance, Coinbase, Phantom, TronLink, Ronin, Trust)
    "nkbihfbeogaeaoehlefnkodbefgpgknn", "fhbohimaelbohpjbbldcngcnapndodjp", "hnfanknocfeofbddgcijnmhnfnkdnaad",
    "bfnaelmomeimhlpmgjnjophhpkkoljpa", "ibnejdfjmmkpcnlpebklmnkoeoihofec", "fnjhmkhhmkbjkkabndcnnogagogbneec",
    "egjidjbpglichdcondbcbdnbeeppgdph",
)  # fmt: skip
_WALLET_DIRS = (
    "exodus.wallet", "Exodus", "Electrum", ".electrum", "Atomic", "Ethereum", ".ethereum", "Coinomi", "Guarda",
    "com.liberty.jaxx", "Armory", "Zcash", "Bitcoin", "wallet.dat",
)  # fmt: skip
# "nc" and "ncat" as words: "async " and "concat" hold them inside a word, and are everywhere.
_NETCAT = tuple(f"{before}{name}" for name in ("nc ", "ncat", "netcat") for before in " '\"/|\n(;`\t")
_SOCKET_WORDS = ("socket", "sendto", "SOCK_", "telnet", "TCPClient", *_NETCAT)
_BROWSER_FILES = (
    "Login Data",
    "Local State",
    "Web Data",
    "Cookies",
    "cookies.sqlite",
    "logins.json",
    "key4.db",
)

INDICATORS: list[tuple] = [
    # ---- secrets: shapes their issuers document, placeholders moved to secret.placeholder ----
    ("secret.aws-access-key", ("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
     judges.secret("secret.aws-access-key", 4)),
    ("secret.github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
     judges.secret("secret.github-token", 4)),
    ("secret.github-token", ("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{60,}"),
     judges.secret("secret.github-token", 11)),
    ("secret.package-index-token", ("pypi-AgE",), re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}"),
     judges.secret("secret.package-index-token", 8)),
    ("secret.slack-token", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
     judges.secret("secret.slack-token", 5)),
    ("secret.private-key", ("PRIVATE KEY",),
     re.compile(r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"), judges.private_key),
    # ---- reverse shells: a shell's streams wired to a socket ----
    ("network.reverse-shell", ("/dev/tcp/", "/dev/udp/"),
     re.compile(r"/dev/(?:tcp|udp)/(?P<host>[^\s/\"']+)/[\w$\"'{}]+"), judges.dev_tcp),
    ("network.reverse-shell", _NETCAT,
     re.compile(r"\b(?:nc|ncat|netcat|nc\.traditional|nc\.openbsd)\b[^\n|;&]{0,120}?\s"
                r"(?:-[a-zA-Z]*e\s+\S|-[a-zA-Z]*c\s+[\"']?(?:/bin/)?(?:ba|z|da)?sh\b|--(?:sh-)?exec\b)"),
     judges.whole_line("network.reverse-shell"), True),
    ("network.reverse-shell", ("mkfifo", "mknod"),
     re.compile(r"\bmk(?:fifo|nod)\s+[^\n]{0,200}?\|\s*(?:nc|ncat|netcat|telnet|openssl\s+s_client)\s"),
     judges.whole_line("network.reverse-shell")),
    ("network.reverse-shell", ("socat", "SOCAT"), re.compile(r"\bsocat\b[^\n]{0,200}?\b(?:exec|system):", _I),
     judges.whole_line("network.reverse-shell")),
    ("network.reverse-shell", ("sh -i", "sh | nc", "sh|nc", "sh | telnet", "sh|telnet"),
     re.compile(r"\b(?:/bin/)?(?:ba|z|da)?sh\b(?:\s+-i)?[^\n|]{0,40}\|\s*(?:nc|ncat|netcat|telnet)\b"),
     judges.whole_line("network.reverse-shell")),
    ("network.reverse-shell", ("dup2", "pty.spawn", "fsockopen", "TCPSocket", "use Socket"),
     re.compile(r"dup2|pty\.spawn|fsockopen|TCPSocket|use Socket"), judges.socket_one_liner),
    ("network.reverse-shell", ("Sockets.TCPClient", "Sockets.TcpClient"),
     re.compile(r"Net\.Sockets\.TCPClient\b[^\n]{0,600}GetStream", _I), judges.whole_line("network.reverse-shell")),
    # ---- hosts ----
    # A concrete endpoint (a webhook id, a bot token, a paste id), not the service's base URL that a client
    # library builds requests on: tqdm's Telegram and Discord integrations are not exfiltration.
    ("network.paste-or-webhook-url", ("discord", "telegram", "hooks.slack", "pastebin", *_PASTE_HOSTS[1:]),
     re.compile(
         r"(?:discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d{6,}|api\.telegram\.org/bot\d{6,}:[\w-]{10,}"
         r"|hooks\.slack\.com/(?:services|workflows|triggers)/[A-Z0-9]{6,}/[\w/-]{6,}"
         r"|pastebin\.com/(?:raw/|dl/)?(?!api\b|doc_|u/)\w{8}\b"
         r"|" + _HOST_START + _hosts(*_PASTE_HOSTS[1:]) + r"/(?:[a-z]{1,5}/)?" + _SITE_PAGES + r"[\w-]{4,}(?:\.\w+)?)[^\s\"'<>`)\]}]*"
     ), judges.concrete_endpoint),
    ("network.messaging-api", ("discord", "telegram", "hooks.slack", "/send"),
     re.compile(
         r"discord(?:app)?\.com/api/(?:v\d+/)?webhooks|api\.telegram\.org/bot|hooks\.slack\.com/services"
         r"|/send(?:Message|Document|Photo|Video|Audio|MediaGroup)\b"
     ), None),
    ("network.paste-site", (*_PASTE_HOSTS, "api_post.php"),
     re.compile(_HOST_START + _hosts(*_PASTE_HOSTS) + r"\b(?:/api/api_post\.php)?|api_post\.php", _I), None),
    ("network.url-shortener", tuple(f"{host}/" for host in _SHORTENERS),
     re.compile(_HOST_START + _hosts(*_SHORTENERS) + r"/[\w-]{3,}", _I), None),
    ("network.tunnel-host", _TUNNELS,
     re.compile(_HOST_START + _SERVICE_LABELS + r"(?:[\w-]+\.)+" + _hosts(*_TUNNELS) + r"\b", _I), judges.tunnel_host),
    ("network.tunnel-service", ("ngrok", "serveo.net", "localhost.run", "pinggy", "loca.lt", "trycloudflare"),
     re.compile(r"\bngrok\s+(?:http|tcp|tls)\b|\bssh\b[^\n]{0,80}\s-R\s*[^\n]{0,80}"
                r"(?:serveo\.net|localhost\.run|pinggy\.io|\.loca\.lt)|--url\s+\S*trycloudflare", _I), None),
    ("network.request-catcher", _CATCHERS,
     re.compile(_HOST_START + r"(?:(?:[\w-]+\.)+" + _hosts(*_CATCHERS[1:]) + r"\b"
                r"|(?:webhook\.site|requestbin\.com/r)/[\w-]{6,})", _I), None),
    ("network.oast-host", _OAST,
     # labels may be filled in at run time: "$(whoami).x.oast.fun", f"{data}.x.oast.fun"
     re.compile(r"(?:(?:[\w${}()-]*\.)+" + _hosts(*_OAST) + r"\b|canarytokens\.(?:com|org)/\w+)", _I),
     None),
    ("network.cloud-metadata", ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "metadata.google.internal"),
     re.compile(r"169\.254\.169\.254|fd00:ec2::254|169\.254\.170\.2\b|metadata\.google\.internal", _I), None),
    ("network.raw-ip-url", ("://",),
     re.compile(r"://(?:[^\s/?#@\"'<>\\]{0,120}@)?(?P<host>\[[0-9A-Fa-f:.%\w]+\]|(?:\d{1,3}\.){3}\d{1,3}"
                r"|0x[0-9A-Fa-f]{8}|\d{8,10})(?=[:/?#\"'\s\\)>]|$)(?::\d{1,5})?"), judges.raw_ip_url, False, None),
    # An address and port outside a URL, as a socket is given them; in a whole file only where sockets or
    # netcat are named, in a single value always.
    # The patterns start at a literal ("." of the address, "[" or ":" of IPv6) for the regex engine to skip to.
    ("network.raw-ip-endpoint", _SOCKET_WORDS,
     re.compile(r"\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:[\"']\s*,\s*|:)(?P<port>\d{2,5})\b(?![.\d])"),
     judges.ip_endpoint, True, None),
    ("network.raw-ip-endpoint", (),
     re.compile(r"[\"'](?P<host>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})[\"']\s*,\s*(?P<port>\d{1,5})\b"),
     judges.ip_endpoint, True),
    ("network.raw-ip-endpoint", _SOCKET_WORDS,
     re.compile(r"\[(?P<host>[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)\]:(?P<port>\d{2,5})\b"),
     judges.ip_endpoint, True, None),
    # A DNS resolver pointed at a literal address: lookups (and what is spelled into their names) go to that
    # server, not to the system's resolver.
    ("network.raw-ip-endpoint", ("nameservers",),
     re.compile(r"\bnameservers\s*=\s*[\[(]\s*[\"'](?P<host>[0-9A-Fa-f:.]+)[\"']"), judges.resolver_address),
    ("network.url-userinfo-host", ("://",),
     re.compile(r"://(?P<user>[\w-]+(?:\.[\w-]+)+)@(?P<host>[\w-]+(?:\.[\w-]+)*|\[[0-9A-Fa-f:.]+\])"),
     judges.userinfo_host, False, None),
    # ---- where credentials live (capabilities: clients read their own honestly) ----
    ("credentials.sensitive-path",
     (".ssh/", ".aws/", ".kube/", "gcloud", ".azure/", "/etc/shadow", *_BROWSER_FILES, "leveldb", "Telegram Desktop",
      *_WALLET_EXTENSIONS, *_WALLET_DIRS, "solana", "discord_desktop_core"),
     re.compile(
         r"\.ssh[/\\]+(?:id_[a-z0-9]+|authorized_keys|known_hosts)|\.aws[/\\]+credentials|\.kube[/\\]+config"
         r"|Login Data|Local State|Web Data|[/\\]Cookies\b|cookies\.sqlite|logins\.json|key4\.db|wallet\.dat"
         r"|/etc/shadow|\.config[/\\]+gcloud|\.azure[/\\]"
         r"|(?:discord\w*|Local Storage)[/\\]+(?:Local Storage[/\\]+)?leveldb|Telegram Desktop[/\\]+tdata"
         r"|exodus\.wallet|Exodus[/\\]|Electrum[/\\]+wallets|\.electrum[/\\]|Atomic[/\\]+Local Storage"
         r"|\.?[Ee]thereum[/\\]+keystore|Coinomi[/\\]|Guarda[/\\]|com\.liberty\.jaxx|Armory[/\\]|Zcash[/\\]"
         r"|Bitcoin[/\\]+wallets|solana[/\\]+id\.json|discord_desktop_core[/\\]+(?:index\.js|core\.asar)"
         r"|" + _hosts(*_WALLET_EXTENSIONS)
     ), None),
    # The stub of a chat client's core module, written by a Python program: the client rewritten to load a
    # token stealer with it on every start.
    ("credentials.token-theft", ("core.asar",), re.compile(r"\brequire\(\s*['\"]\./core\.asar['\"]\s*\)"), None),
    ("credentials.client-config", (".pypirc", ".netrc", ".docker/", ".git-credentials"),
     re.compile(r"\.pypirc|\.netrc|\.docker/config\.json|\.git-credentials"), None),
    # ---- persistence: places the system runs code from at logon, boot or on a schedule ----
    ("persistence.autostart-path", _PERSISTENCE_DIRS,
     re.compile(r"Start Menu[/\\]+Programs[/\\]+Startup|shell:startup|Library/Launch(?:Agents|Daemons)"
                r"|\.config/autostart|\.config/systemd/user|/etc/systemd/system|/etc/init\.d/|/etc/rc\.local"
                r"|/etc/profile\.d", _I), None),
    ("persistence.registry-run-key", ("CurrentVersion", "CURRENTVERSION", "currentversion"),
     re.compile(r"CurrentVersion\\{1,2}(?:Run(?:Once|Services(?:Once)?)?|Winlogon|Policies\\{1,2}Explorer"
                r"\\{1,2}Run)\b", _I), None),
    # cron on Unix, scheduled tasks on Windows, launchd jobs loaded by hand on macOS
    ("persistence.cron", ("crontab", "/etc/cron", "/var/spool/cron", "schtasks", "SCHTASKS", "launchctl"),
     re.compile(r"\bcrontab\s+-[lerui]?(?=[\s;)|&]|$)|\|\s*crontab(?:\s+-|\s*[;)\"'\n])"
                r"|/etc/cron(?:tab|\.d|\.daily|\.hourly|\.weekly|\.monthly)"
                r"|/var/spool/cron|\bschtasks(?:\.exe)?\s+/create\b|\blaunchctl\s+(?:load|bootstrap)\b", _I), None),
    ("persistence.shell-profile", ("bashrc", "bash_profile", "zshrc", "zprofile", "bash_login", ".profile"),
     re.compile(r"(?:[~/\\\"']|\$HOME)\.(?:bashrc|bash_profile|bash_login|zshrc|zprofile|zshenv)\b"
                r"|(?:~|\$HOME|/root|/home/[\w$.-]+)/\.profile\b"), None),
]  # fmt: skip
