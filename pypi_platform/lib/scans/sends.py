"""What a send carries and where it goes, followed one step further than a single call shows: the request made
on a connection opened to a literal IP, addresses assembled in f-strings, messages of webhook and mail clients,
the statement that gathers the environment a send then carries, and names looked up inside a loop.

``behaviours_exfiltration`` merges these roles and checks into its own tables and calls the helpers from its
checks; each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's
qualified name (or, for a method, its name).
"""

from __future__ import annotations

import ast

from pypi_platform.lib.scans.behaviours_network import argument_texts, literal_ip
from pypi_platform.lib.scans.call_roles import NETWORK
from pypi_platform.lib.scans.host_data import carries_host_data, sensitive_file_read
from pypi_platform.lib.scans.resolution import MODULE_SCOPE
from pypi_platform.lib.scans.rules_system import is_whole_environment
from pypi_platform.lib.scans.syntax_walk import argument

# Client libraries of chat webhooks: what their messages carry is sent to the webhook.
_WEBHOOK_CLIENTS = {
    "discord_webhook.DiscordWebhook",
    "discord_webhook.AsyncDiscordWebhook",
    "discord_webhook.webhook.DiscordWebhook",
    "dhooks.Webhook",
    "pymsteams.connectorcard",
}
_MESSAGE_KEYWORDS = ("content", "embeds", "text", "file", "files", "description")
MAIL_SENDS = ("send_message", "sendmail")
_RECEIVER_NODES = 64  # nodes read in a send's arguments, looking for the names that hold what is sent
_LOOP_NODES = 4_000  # nodes read in one function, looking for the loop that binds a name

ROLES = (
    ("webhook-client", _WEBHOOK_CLIENTS),
    ("address-fold", NETWORK),
)


def check_request_on_connection(scan, call: ast.Call, scope: int, method: str) -> None:
    """secure.request("GET", path) with secure = HTTPSConnection(host="198.51.100.12"): each request on a
    connection opened to a literal IP goes to that address, and is where what the beacon sends is written."""
    receiver = call.func.value
    if receiver.__class__ is not ast.Name:
        return
    for value in scan.assigned(scope, receiver.id):
        if value.__class__ is not ast.Call or scan.resolve(value.func) not in NETWORK:
            continue
        for text in argument_texts(scan, value, scope):
            address = literal_ip(text)
            if address is not None:
                evidence = f"{method} on a connection to {address}"
                scan.add("network.literal-ip-connection", call, evidence=evidence)
                return


def check_address_fold(scan, call: ast.Call, scope: int, target: str) -> None:
    """requests.post(f"https://api.telegram.org/bot{BOT}/sendMessage"): an f-string address, folded."""
    url = argument(call, 0, "url")
    if url is not None and url.__class__ is ast.JoinedStr:
        scan.fold_and_check(url, scope)


def check_webhook_client(scan, call: ast.Call, scope: int, target: str, *, sent) -> None:
    """DiscordWebhook(url=hook, content=f"... {socket.gethostname()}"): the message goes to the webhook."""
    body = [keyword.value for keyword in call.keywords if keyword.arg in _MESSAGE_KEYWORDS]
    sent(scan, call, scope, [*body, *call.args[1:3]], target, drop=True)


def record_attachment(scan, call: ast.Call, scope: int) -> None:
    """message.add_attachment(...), message.attach(...): what the message will carry when it is sent."""
    receiver = call.func.value
    if receiver.__class__ is ast.Name:
        scan.facts.setdefault("attachments", []).append((receiver.id, call, scope))


def check_mail_send(scan, call: ast.Call, scope: int, method: str) -> None:
    scan.facts.setdefault("mail-sends", []).append((call, scope))


def _attached(scan, call: ast.Call, scope: int) -> str | None:
    """The host data or key file an attaching call (message.add_attachment(...)) puts in a message."""
    for part in call.args[:2]:
        source = carries_host_data(scan, part, scope) or sensitive_file_read(scan, part, scope, drop=False)
        if source is not None:
            return source
    return None


def mail_finish(scan) -> None:
    """smtp.send_message(message) of a message whose attachments are host data or key files: the send too."""
    attachments = scan.facts.get("attachments")
    if not attachments:
        return
    for call, scope in scan.facts.get("mail-sends", ()):
        names = _names_in(scan, call.args, scope)
        for name, attaching, attach_scope in attachments:
            if name not in names:
                continue
            source = _attached(scan, attaching, attach_scope)
            if source is not None:
                evidence = f"a message carrying {source} sent with {call.func.attr}"
                scan.add("exfiltration.host-data", call, evidence=evidence)
                break


def mark_gathered_environment(scan, parts: list[ast.expr], scope: int, how: str) -> None:
    """found = {k: v for k, v in os.environ.items() if ...}, then requests.post(url, data=found): the statement
    that gathers the environment a send carries is reported with the send."""
    carried = [part for part in parts if is_whole_environment(scan, part, scope, filtered=True)]
    for name in _names_in(scan, carried, scope) if carried else ():
        for value in scan.assigned(scope, name):
            if is_whole_environment(scan, value, scope, filtered=True):
                scan.add(
                    "credentials.environment-dump", value, evidence=f"the environment gathered for {how}"
                )


def _names_in(scan, roots: list[ast.expr], scope: int) -> set[str]:
    names = set()
    for count, node in enumerate(scan.subtree(roots, scope, follow_names=False)):
        if count >= _RECEIVER_NODES:
            break
        if node.__class__ is ast.Name:
            names.add(node.id)
    return names


def loop_sources(scan, expr: ast.expr, scope: int) -> list[ast.expr]:
    """What the names of ``expr`` run over, for names bound by a loop that unpacks
    (``for index, chunk in enumerate(chunks)``): the iterables of those loops in the same function."""
    wanted = {
        node.id
        for node in scan.subtree([expr], scope, follow_names=False)
        if node.__class__ is ast.Name and not scan.assigned(scope, node.id)
    }
    body = _scope_body(scan, scope) if wanted else None
    if not body:
        return []
    sources = []
    stack, visited = list(body), 0
    while stack and visited < _LOOP_NODES:
        node = stack.pop()
        visited += 1
        if node.__class__ in (ast.For, ast.AsyncFor, ast.comprehension) and node.target.__class__ in (
            ast.Tuple,
            ast.List,
        ):
            bound = {element.id for element in node.target.elts if element.__class__ is ast.Name}
            if bound & wanted:
                sources.append(node.iter)
        if node.__class__ not in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return sources


def _scope_body(scan, scope: int) -> list[ast.AST]:
    """The statements of a scope: the module's, or a module-level function's."""
    tree = scan.tree
    statements = getattr(tree, "body", None) or []
    if scope == MODULE_SCOPE:
        return list(statements)
    names = [name for name, function_scope in scan.functions.items() if function_scope == scope]
    for statement in statements:
        if statement.__class__ in (ast.FunctionDef, ast.AsyncFunctionDef) and statement.name in names:
            return list(statement.body)
    return []


def finish(scan) -> None:
    """f-strings assigned to names, folded and judged like literals, once every assignment of the file is known:
    url = f"https://api.telegram.org/bot{BOT}/sendMessage" is the webhook with its token."""
    for (scope, _), values in scan.values.items():
        for value in values:
            if value.__class__ is ast.JoinedStr and len(value.values) > 1:
                scan.fold_and_check(value, scope)
