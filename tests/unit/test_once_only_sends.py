"""A message meant to go out once is only ever sent with a client that never resends.

A 5xx or a dropped connection may come after Slack posted the message, so a client that retries them posts it
twice. Two guards, each tested here:

1. At run time, the claimed sends of bot/delivery/posting.py (`post`, `upload`, `already_posted`), `announce` and
   `announce_files` refuse (TypeError) any client but a `OnceClient` that still waits out 429s only; the classes
   that send claimed messages (the sweep, the reset, the ripple notices and digest, triage rounds) derive such a
   client from the one they are given, since a listener is given the request's client, which resends.
2. In the code, every call of those functions, and of every function that takes a `client: OnceClient` on to
   one of them, passes a client that is one by construction: `once_only(…)`, `web_client(…, resend=False)`, a
   method declared to return a `OnceClient` (whose every `return` is checked the same way), an attribute set
   from one, or a parameter declared `OnceClient` (whose callers are checked in turn). So does every use of a
   Web API method that posts in a conversation (`chat_postMessage`, `files_upload_v2`, … however it is reached:
   `client.chat_postMessage`, `api_call("chat.postMessage")`, `getattr(client, "chat_postMessage")`): a
   handler cannot post a message with the request's client, whatever it posts. Ephemeral messages and
   `chat.update` redraws change nothing when made twice and are not checked. The walk reads bot/ and handlers/
   with `ast`; it is shown wrong call sites it must report, so it cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot import delivery
from bot.delivery import Claim, ClaimedSends
from bot.delivery.checkins import CheckIns
from bot.delivery.digests import News
from bot.delivery.pacing import PacedClient, Pacer, paced
from bot.delivery.rounds import RoundsInSlack
from bot.slack import CountedRateLimits, OnceClient, ServerErrorRetryHandler, never_resends, once_only, web_client

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("bot", "handlers")
ONCE = "OnceClient"
# the functions of bot/delivery/posting.py that send (or look for) a message meant to go out once
ONCE_SENDS = ("post", "upload", "already_posted", "announce", "announce_files")
# the Web API methods that put a message in a conversation (slack_sdk's names, and Slack's for api_call): made twice,
# they post twice
POSTS = frozenset(
    {
        "chat_postMessage",
        "chat_scheduleMessage",
        "chat_meMessage",
        "files_upload",
        "files_upload_v2",
        "files_completeUploadExternal",
        "files_remote_share",
    }
)
API_POSTS = frozenset(
    {
        "chat.postMessage",
        "chat.scheduleMessage",
        "chat.meMessage",
        "files.upload",
        "files.completeUploadExternal",
        "files.remote.share",
    }
)
# the modules a planted file's `from bot import delivery` reaches
DELIVERY = ("bot/delivery/__init__.py", "bot/delivery/posting.py", "bot/delivery/sends.py", "bot/slack.py")
# where a OnceClient comes from: bot/slack.py, tested at run time below
SOURCES = frozenset({"once_only", "OnceClient", "paced", "PacedClient"})


# 1. at run time --------------------------------------------------------------------------------------------------


class NoNetwork(WebClient):
    """A client that fails the test if it reaches Slack: a refusal must come before any call."""

    def api_call(self, *args, **kwargs):  # slack_sdk's name
        raise AssertionError("a refused client called Slack")


def resending() -> WebClient:
    """A client like the one Bolt gives a listener: it retries 5xx answers and lost connections."""
    return web_client(base_url="http://127.0.0.1:9/api/", token="xoxb-test")


def claim(*, taken_over: bool = False) -> Claim:
    moment = datetime(2026, 1, 5, 9, tzinfo=UTC)
    return Claim(1, 1, "ripple_notice", "1", moment, previous_claimed_at=moment if taken_over else None)


def refused_calls(client: WebClient) -> Iterator[tuple[str, object]]:
    yield "post", lambda: delivery.post(client, claim(), channel="C0ROCKET", message={"text": "hi"})
    yield (
        "post taken over",
        lambda: delivery.post(client, claim(taken_over=True), channel="C0ROCKET", message={"text": "hi"}),
    )
    yield (
        "upload",
        lambda: delivery.upload(
            client, claim(), channel="C0ROCKET", content=b"png", filename="a.png", title="A", comment="a"
        ),
    )
    yield (
        "already_posted",
        lambda: delivery.already_posted(client, claim(taken_over=True), channel="C0ROCKET", match=lambda m: True),
    )
    yield (
        "announce",
        lambda: delivery.announce(
            client, cause="team_joined:1", channel="C0ROCKET", message={"text": "hi"}, now=claim().claimed_at
        ),
    )
    yield (
        "announce_files",
        lambda: delivery.announce_files(
            client,
            cause="export:1",
            channel="D0ADA",
            files=[{"content": b"a", "filename": "a.csv", "title": "A"}],
            comment="a",
            now=claim().claimed_at,
        ),
    )


class ResendingNoNetwork(NoNetwork):
    def __init__(self) -> None:
        super().__init__(
            token="xoxb-test", base_url="http://127.0.0.1:9/api/", retry_handlers=resending().retry_handlers
        )


class OnceNoNetwork(OnceClient, NoNetwork):
    pass


def widened() -> OnceClient:
    """A OnceClient someone taught to retry 5xx after it was built (its handler list is a plain list)."""
    client = OnceNoNetwork(token="xoxb-test", base_url="http://127.0.0.1:9/api/")
    client.retry_handlers.append(ServerErrorRetryHandler())
    return client


@pytest.mark.parametrize(
    "make",
    [ResendingNoNetwork, lambda: NoNetwork(token="xoxb-test", retry_handlers=[]), widened],
    ids=["request-client", "plain-webclient-even-without-retries", "once-client-given-a-5xx-handler"],
)
def test_a_message_meant_to_go_out_once_refuses_a_client_that_is_not_a_once_client(make):
    client = make()
    for name, call in refused_calls(client):
        with pytest.raises(TypeError, match="OnceClient"):
            call()
            pytest.fail(f"{name} took a client that may resend")


def test_a_once_client_waits_out_rate_limits_only_and_cannot_be_built_otherwise():
    built = web_client(base_url="http://127.0.0.1:9/api/", token="xoxb-test", resend=False)
    assert type(built) is OnceClient and never_resends(built)
    assert [type(h) for h in built.retry_handlers] == [CountedRateLimits]
    assert isinstance(built.retry_handlers[0], RateLimitErrorRetryHandler)
    assert not never_resends(resending())
    assert {type(h) for h in resending().retry_handlers} >= {ConnectionErrorRetryHandler, ServerErrorRetryHandler}
    with pytest.raises(TypeError, match="429s only"):
        OnceClient(token="xoxb-test", retry_handlers=[ConnectionErrorRetryHandler()])
    with pytest.raises(TypeError, match="429s only"):
        OnceClient(token="xoxb-test", retry_handlers=[RateLimitErrorRetryHandler(), ServerErrorRetryHandler()])


def test_once_only_keeps_the_token_and_address_of_the_request_client_and_drops_its_resends():
    request = WebClient(
        token="xoxb-request",
        base_url="http://127.0.0.1:9/api/",
        timeout=7,
        team_id="T0TEAM",
        retry_handlers=resending().retry_handlers,
    )
    once = once_only(request)
    assert never_resends(once) and once is not request
    assert (once.token, once.base_url, once.timeout, once.default_params.get("team_id")) == (
        "xoxb-request",
        "http://127.0.0.1:9/api/",
        7,
        "T0TEAM",
    )
    assert once_only(once) is once  # a OnceClient (a test's subclass too) is kept as it is
    assert not never_resends(request)  # the request's own client is left as it was


def test_a_paced_client_keeps_the_token_and_address_and_resends_nothing_but_429s():
    request = WebClient(
        token="xoxb-request",
        base_url="http://127.0.0.1:9/api/",
        timeout=7,
        team_id="T0TEAM",
        retry_handlers=resending().retry_handlers,
    )
    pacer = Pacer()
    client = paced(request, pacer, "T0TEAM")
    assert isinstance(client, PacedClient) and never_resends(client) and client.retry_handlers == []
    assert (client.token, client.base_url, client.timeout, client.default_params.get("team_id")) == (
        "xoxb-request",
        "http://127.0.0.1:9/api/",
        7,
        "T0TEAM",
    )
    assert paced(client, pacer, "T0TEAM") is client and paced(client, Pacer(), "T0TEAM") is not client


def test_the_classes_that_send_claimed_messages_derive_a_once_client_from_the_request_client():
    request = resending()
    workspace = SimpleNamespace(uninstalled_at=None, slack_team_id="T0SANDBOX")
    news = News(None, lambda _workspace: request)
    assert never_resends(news._client(workspace))
    assert news._any_client(workspace) is request  # redraws (chat.update) may still be retried
    assert ClaimedSends(None, lambda _workspace: None)._client(workspace) is None
    assert news._client(SimpleNamespace(uninstalled_at=object())) is None
    rounds = RoundsInSlack(None, request)
    assert never_resends(rounds.poster) and rounds.client is request and isinstance(rounds.poster, PacedClient)
    assert never_resends(CheckIns(None, lambda _workspace: request)._client(workspace))


# 2. in the code ----------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Function:
    path: str
    node: ast.FunctionDef
    owner: ast.ClassDef | None  # the class it is a method of
    outer: list[ast.FunctionDef]  # the functions it is nested in, innermost last

    @property
    def params(self) -> list[ast.arg]:
        args = self.node.args
        return [*args.posonlyargs, *args.args, *args.kwonlyargs]

    def once_params(self) -> list[tuple[int | None, str]]:
        """(position among the positional parameters or None, name) of each parameter declared OnceClient."""
        positional = [*self.node.args.posonlyargs, *self.node.args.args]
        return [
            (positional.index(arg) if arg in positional else None, arg.arg)
            for arg in self.params
            if _declared_once(arg.annotation)
        ]

    @property
    def returns_once(self) -> bool:
        return _declared_once(self.node.returns)


@dataclass(frozen=True)
class Site:
    """A call that passes a client on to a message meant to go out once."""

    path: str
    line: int
    callee: str
    param: str
    given: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.callee}({self.param}={self.given})"


@dataclass(frozen=True)
class Post:
    """A Web API method that posts in a conversation, reached through a client."""

    path: str
    line: int
    method: str
    client: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.method} with {self.client}"


class Walk:
    """Every function of the scanned modules, the call sites that must pass a OnceClient, and the uses of a
    method that posts in a conversation, whose client must be one."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.trees = {path: ast.parse(text, filename=path) for path, text in sources.items()}
        self.aliases: dict[str, dict[str, str]] = {}  # per module: a name bound to a module → that module's path
        self.imported: dict[str, dict[str, str]] = {}  # per module: a function imported by name → its module
        self.functions: list[Function] = []
        self.by_name: dict[str, list[Function]] = {}
        self.classes: dict[str, list[ast.ClassDef]] = {}
        self.within: dict[int, Function] = {}  # id(node) → the innermost function it is in
        self.methods_of: dict[int, ast.ClassDef] = {}  # id(function node) → the class it is (nested in) a method of
        self.checked: list[Site] = []
        self.posts: list[Post] = []
        self.problems: list[str] = []
        self.parents: dict[int, ast.AST] = {}  # id(node) → the node it is in
        for path, tree in self.trees.items():
            self._imports(path, tree, sources)
            self._collect(path, tree, None, [])
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    self.parents[id(child)] = node

    def _imports(self, path: str, tree: ast.Module, sources: dict[str, str]) -> None:
        aliases, imported = {}, {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                package = node.module.replace(".", "/")
                for name in node.names:
                    if f"{package}/{name.name}.py" in sources:
                        aliases[name.asname or name.name] = f"{package}/{name.name}.py"
                    elif f"{package}/{name.name}/__init__.py" in sources:  # a package (bot.delivery)
                        aliases[name.asname or name.name] = f"{package}/{name.name}/__init__.py"
                    elif f"{package}.py" in sources:
                        imported[name.asname or name.name] = f"{package}.py"
            elif isinstance(node, ast.Import):
                for name in node.names:
                    if name.asname and f"{name.name.replace('.', '/')}.py" in sources:
                        aliases[name.asname] = f"{name.name.replace('.', '/')}.py"
        self.aliases[path], self.imported[path] = aliases, imported

    def _collect(self, path: str, node: ast.AST, owner: ast.ClassDef | None, outer: list[ast.FunctionDef]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                self.classes.setdefault(child.name, []).append(child)
                self._collect(path, child, child, [])
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                fn = Function(path, child, owner if not outer else None, outer)
                self.functions.append(fn)
                self.by_name.setdefault(child.name, []).append(fn)
                if owner is not None:
                    self.methods_of[id(child)] = owner
                for inner in _own_nodes(child):
                    self.within[id(inner)] = fn
                self._collect(path, child, owner, [*outer, child])
            else:
                self._collect(path, child, owner, outer)

    def _lineage(self, owner: ast.ClassDef | None) -> list[ast.ClassDef]:
        """A class and the classes it derives from, as far as they are in the scanned code (by name)."""
        seen: list[ast.ClassDef] = []
        todo = [owner] if owner is not None else []
        while todo:
            current = todo.pop()
            if any(current is s for s in seen):
                continue
            seen.append(current)
            for base in current.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                todo += self.classes.get(name, [])
        return seen

    def _scopes(self, node: ast.AST) -> list[ast.FunctionDef]:
        """The functions `node` is in, outermost first."""
        fn = self.within.get(id(node))
        return [*fn.outer, fn.node] if fn is not None else []

    def _owner(self, node: ast.AST) -> ast.ClassDef | None:
        scopes = self._scopes(node)
        return self.methods_of.get(id(scopes[0])) if scopes else None

    # which function a call calls ------------------------------------------------------------------------------

    def callees(self, path: str, call: ast.Call) -> list[tuple[Function, bool]]:
        """The scanned functions `call` may call, each with whether it is called as a method (`self.` first)."""
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            named = self.by_name.get(func.attr, [])
            if func.value.id == "self":
                lineage = self._lineage(self._owner(call))
                return [(fn, True) for fn in named if any(fn.owner is c for c in lineage)]
            target = self.aliases[path].get(func.value.id)
            if target is not None and target.endswith("/__init__.py"):  # a name the package takes from a module
                target = self.imported.get(target, {}).get(func.attr, target)
            return [(fn, False) for fn in named if fn.path == target and fn.owner is None and not fn.outer]
        if isinstance(func, ast.Name):
            named = self.by_name.get(func.id, [])
            scopes = self._scopes(call)
            nested = [fn for fn in named if fn.path == path and fn.outer and any(fn.outer[-1] is s for s in scopes)]
            if nested:
                return [(fn, False) for fn in nested]
            target = self.imported[path].get(func.id, path)
            return [(fn, False) for fn in named if fn.path == target and fn.owner is None and not fn.outer]
        return []

    # is it a OnceClient -----------------------------------------------------------------------------------------

    def is_once(self, path: str, expr: ast.AST, seen: frozenset = frozenset()) -> bool:
        if id(expr) in seen:
            return True  # a cycle adds nothing: the other paths decide
        seen = seen | {id(expr)}
        if isinstance(expr, ast.Constant) and expr.value is None:
            return True  # no client: nothing is sent
        if isinstance(expr, ast.IfExp):
            return self.is_once(path, expr.body, seen) and self.is_once(path, expr.orelse, seen)
        if isinstance(expr, ast.Call):
            name = expr.func.attr if isinstance(expr.func, ast.Attribute) else getattr(expr.func, "id", None)
            if name in SOURCES:
                return True
            if name == "super":  # in a class deriving from OnceClient (bot/delivery/pacing.py's PacedClient)
                owner = self._owner(expr)
                return owner is not None and any(
                    getattr(b, "id", getattr(b, "attr", None)) == ONCE for c in self._lineage(owner) for b in c.bases
                )
            if name == "web_client":
                return any(
                    k.arg == "resend" and isinstance(k.value, ast.Constant) and k.value.value is False
                    for k in expr.keywords
                )
            callees = self.callees(path, expr)
            return bool(callees) and all(fn.returns_once for fn, _method in callees)
        if isinstance(expr, ast.Name):
            return self._name_is_once(path, expr, seen)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            lineage = self._lineage(self._owner(expr))
            values = [
                (fn.path, node.value)
                for fn in self.functions
                if any(fn.owner is c for c in lineage)
                for node in _own_nodes(fn.node)
                if isinstance(node, ast.Assign | ast.AnnAssign)
                and node.value is not None
                and any(
                    isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == "self"
                    and t.attr == expr.attr
                    for t in _targets(node)
                )
            ]
            return bool(values) and all(self.is_once(p, value, seen) for p, value in values)
        return False

    def _name_is_once(self, path: str, name: ast.Name, seen: frozenset) -> bool:
        lambda_default = self._lambda_parameter(name)
        if lambda_default is not None:  # a lambda's parameter: its default, if it has one, decides
            return lambda_default is not _NO_DEFAULT and self.is_once(path, lambda_default, seen)
        for scope in reversed(self._scopes(name)):  # the innermost function binding the name decides
            for arg in [*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs]:
                if arg.arg == name.id:
                    return _declared_once(arg.annotation)
            values = [
                value
                for node in _own_nodes(scope)
                if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr) and node.value is not None
                for value in _assigned(node, name.id)
            ]
            bound_otherwise = any(
                isinstance(node, ast.For | ast.With | ast.comprehension | ast.AugAssign)
                or (isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr) and not _assigned(node, name.id))
                for node in _own_nodes(scope)
                if any(name.id in _bound_names(target) for target in _targets_of(node))
            )
            if values or bound_otherwise:
                return not bound_otherwise and all(self.is_once(path, value, seen) for value in values)
        return False

    def _lambda_parameter(self, name: ast.Name) -> ast.AST | None:
        """The default of the innermost lambda parameter `name` is (`_NO_DEFAULT` without one), or None when it
        is not a lambda's parameter."""
        node = self.parents.get(id(name))
        while node is not None and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if isinstance(node, ast.Lambda):
                args = node.args
                positional = [*args.posonlyargs, *args.args]
                defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
                named = [*zip(positional, defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
                for arg, default in named:
                    if arg.arg == name.id:
                        return _NO_DEFAULT if default is None else default
                if name.id in {a.arg for a in (args.vararg, args.kwarg) if a is not None}:
                    return _NO_DEFAULT
            node = self.parents.get(id(node))
        return None

    # the check ------------------------------------------------------------------------------------------------

    def check(self) -> Walk:
        for path, tree in self.trees.items():  # every method that posts in a conversation, reached through a client
            for node in ast.walk(tree):
                for method, client in _posting(node):
                    post = Post(path, node.lineno, method, ast.unparse(client))
                    self.posts.append(post)
                    if not self.is_once(path, client):
                        self.problems.append(f"{post} (a client that may resend)")
        for path, tree in self.trees.items():
            for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
                for fn, as_method in self.callees(path, call):
                    for position, name in fn.once_params():
                        given = next((k.value for k in call.keywords if k.arg == name), None)
                        index = None if position is None else position - (1 if as_method else 0)
                        if given is None and index is not None and index < len(call.args):
                            given = call.args[index]
                        if given is None:
                            continue
                        site = Site(path, call.lineno, fn.node.name, name, ast.unparse(given))
                        self.checked.append(site)
                        if not self.is_once(path, given):
                            self.problems.append(str(site))
        for fn in self.functions:  # a function declared to return a OnceClient returns one
            if fn.returns_once and not (fn.path == "bot/slack.py" and fn.node.name in SOURCES):
                for ret in (n for n in _own_nodes(fn.node) if isinstance(n, ast.Return)):
                    if ret.value is None or not self.is_once(fn.path, ret.value):
                        self.problems.append(f"{fn.path}:{ret.lineno} {fn.node.name} returns a client that may resend")
        return self


def _declared_once(annotation: ast.AST | None) -> bool:
    return annotation is not None and ONCE in ast.unparse(annotation)


def _targets(node: ast.AST) -> list[ast.AST]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _targets_of(node: ast.AST) -> list[ast.AST]:
    """What a statement or comprehension binds (nothing for any other node)."""
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, ast.With):
        return [item.optional_vars for item in node.items if item.optional_vars is not None]
    target = getattr(node, "target", None)
    return [target] if isinstance(target, ast.AST) else []


def _bound_names(target: ast.AST) -> set[str]:
    """The names a target binds: `a`, `a, (b, *c)`; none for `x.attr` or `x[i]`."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return {name for element in target.elts for name in _bound_names(element)}
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return set()


def _assigned(node: ast.Assign | ast.AnnAssign | ast.NamedExpr, name: str) -> list[ast.AST]:
    """The values an assignment gives `name`: `name = v` → [v], `a, name = x, v` → [v]; [] when it does not
    bind it, or binds it in a way the walk does not follow (`a, name = pair`: then it is not a OnceClient)."""
    found = []
    for target in _targets(node):
        if isinstance(target, ast.Name) and target.id == name:
            found.append(node.value)
        elif (
            isinstance(target, ast.Tuple | ast.List)
            and isinstance(node.value, ast.Tuple | ast.List)
            and len(target.elts) == len(node.value.elts)
            and not any(isinstance(e, ast.Starred) for e in [*target.elts, *node.value.elts])
        ):
            found += [
                value
                for t, value in zip(target.elts, node.value.elts, strict=True)
                if isinstance(t, ast.Name) and t.id == name
            ]
    return found


_NO_DEFAULT = ast.Constant(value="a lambda parameter without a default")


def _posting(node: ast.AST) -> list[tuple[str, ast.AST]]:
    """(method, the client it is reached through) when `node` reaches a Web API method that posts in a
    conversation: `client.chat_postMessage`, `getattr(client, "chat_postMessage")`, `client.api_call(
    "chat.postMessage")`; an `api_call` whose method is not written out counts as one too. (A `getattr` whose
    name is not written out is not followed: the code uses it on things that are not clients.)"""
    if isinstance(node, ast.Attribute) and node.attr in POSTS:
        return [(node.attr, node.value)]
    if not isinstance(node, ast.Call):
        return []
    func = node.func
    if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
        name = node.args[1]
        return [(name.value, node.args[0])] if isinstance(name, ast.Constant) and name.value in POSTS else []
    if isinstance(func, ast.Attribute) and func.attr == "api_call":
        method = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "api_method"), None)
        if _forwarded(func.value, method):
            return []
        if isinstance(method, ast.Constant) and method.value not in API_POSTS:
            return []
        shown = method.value if isinstance(method, ast.Constant) else f"api_call({ast.unparse(method or func)})"
        return [(shown, func.value)]
    return []


def _forwarded(receiver: ast.AST, method: ast.AST | None) -> bool:
    """`super().api_call(api_method, …)`: a client class's own `api_call` passing on the call it was asked to make
    (bot/slack.py's SlackClient counts it, PacedClient paces it). The client is chosen where that call is made,
    and those call sites are checked."""
    called_super = isinstance(receiver, ast.Call) and getattr(receiver.func, "id", None) == "super"
    return called_super and isinstance(method, ast.Name) and method.id == "api_method"


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function, lambdas in it included, not those of the functions and classes nested in it."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))


def scanned_sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for folder in SCANNED
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


def delivery_calls(sources: dict[str, str]) -> list[str]:
    """Every `delivery.<send>(…)` in the code, found without the walk's resolution (to check it saw them all)."""
    found = []
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "delivery"
                and node.func.attr in ONCE_SENDS
            ):
                found.append(f"{path}:{node.lineno} {node.func.attr}")
    return found


def test_every_call_site_of_a_message_meant_to_go_out_once_passes_a_client_that_never_resends():
    sources = scanned_sources()
    walk = Walk(sources).check()

    assert walk.problems == [], "a message meant to go out once could be sent with a client that resends:\n" + (
        "\n".join(walk.problems)
    )
    checked = {f"{site.path}:{site.line} {site.callee}" for site in walk.checked}
    missed = [call for call in delivery_calls(sources) if call not in checked]
    assert missed == [], f"call sites the walk did not resolve: {missed}"
    # the walk went where the claimed sends are: the sweep, the reset, ripple notices, the digest, triage, joins
    files = {site.path for site in walk.checked}
    assert {
        "bot/delivery/checkins.py",
        "bot/delivery/summaries.py",
        "bot/delivery/resets.py",
        "bot/delivery/digests.py",
        "bot/delivery/rounds.py",
        "bot/delivery/posting.py",
        "handlers/teams.py",
        "handlers/team_actions.py",
    } <= files, files
    assert len(walk.checked) >= 30, [str(site) for site in walk.checked]


def test_every_message_posted_in_a_conversation_is_posted_with_a_client_that_never_resends():
    """A handler posting with the request's client (`deliver(client.chat_postMessage, …)`) fails here, whatever
    it posts: a draft shared, an OKR changed, a ripple's reply, the digest, an export's files."""
    walk = Walk(scanned_sources()).check()

    wrong = [p for p in walk.problems if "(a client that may resend)" in p]
    assert wrong == [], "a message could be posted with a client that resends:\n" + "\n".join(wrong)
    # it found the posts: the one place each kind is made, with the OnceClient its callers are checked to pass
    posts = {(post.path, post.method) for post in walk.posts}
    assert {("bot/delivery/posting.py", "chat_postMessage"), ("bot/delivery/posting.py", "files_upload_v2")} <= posts, (
        posts
    )
    # and the handlers that post reach it that way (announce, announce_files), each call site checked
    handlers = {site.path for site in walk.checked if site.callee in ("announce", "announce_files")}
    assert {
        "handlers/drafting.py",
        "handlers/okr_changes.py",
        "handlers/reset.py",
        "handlers/ripples.py",
        "handlers/digest.py",
        "handlers/okrs.py",
        "handlers/teams.py",
        "handlers/team_actions.py",
    } <= handlers, handlers


WRONG = """
from bot import delivery
from bot.delivery.pacing import PacedClient, Pacer, paced
from bot.slack import OnceClient, once_only, web_client


class Notices(delivery.ClaimedSends):
    def __init__(self, db, client_for, request_client):
        super().__init__(db, client_for)
        self.request = request_client
        self.careful = once_only(request_client)

    def fine(self, workspace, claim):
        client = self._client(workspace)
        delivery.post(client, claim, channel="C", message={})
        delivery.post(self.careful, claim, channel="C", message={})
        self._relay(client, claim)

    def wrong_attribute(self, claim):
        delivery.post(self.request, claim, channel="C", message={})

    def wrong_relay(self, workspace, claim):
        self._relay(self.client_for(workspace), claim)

    def _relay(self, client: OnceClient, claim):
        delivery.upload(client, claim, channel="C", content=b"", filename="f", title="t", comment="c")


def wrong_parameter(client, claim):
    delivery.announce(client, cause="x", channel="C", message={}, now=None)


def wrong_client(base_url, claim):
    delivery.post(web_client(base_url=base_url), claim, channel="C", message={})


def fine_client(base_url, claim):
    client = web_client(base_url=base_url, resend=False)
    delivery.post(client=client, claim=claim, channel="C", message={})


def wrong_maybe(client, workspace, claim, news):
    chosen = once_only(client) if workspace else client
    delivery.post(chosen, claim, channel="C", message={})
"""


def test_the_walk_reports_a_call_site_that_could_pass_a_client_that_resends():
    sources = {path: text for path, text in scanned_sources().items() if path in DELIVERY}
    walk = Walk({**sources, "handlers/wrong.py": WRONG}).check()

    wrong = sorted(p.split(" ", 1)[1] for p in walk.problems if p.startswith("handlers/wrong.py"))
    assert wrong == [
        "_relay(client=self.client_for(workspace))",
        "announce(client=client)",
        "post(client=chosen)",
        "post(client=self.request)",
        "post(client=web_client(base_url=base_url))",
    ], walk.problems
    fine = [str(c) for c in walk.checked if c.path == "handlers/wrong.py" and str(c) not in walk.problems]
    # the client from _client, self.careful, the relay's call and its parameter declared OnceClient, resend=False
    assert len(fine) == 5, fine


WRONG_POSTS = """
from bot import delivery
from bot.slack import deliver, once_only, web_client


def wrong_posts(request, channel):
    deliver(request.chat_postMessage, channel=channel, text="hi")
    request.files_upload_v2(channel=channel, content=b"")
    request.api_call("chat.postMessage", json={"channel": channel})
    post = getattr(request, "chat_scheduleMessage")
    request.files_completeUploadExternal(files=[])


def wrong_api_call(unknown, method):
    unknown.api_call(method)


def harmless_twice(request, channel):
    request.chat_postEphemeral(channel=channel, user="U", text="hi")
    request.chat_update(channel=channel, ts="1", text="hi")
    request.api_call("chat.update", json={})
    request.conversations_history(channel=channel)


def fine_posts(request, base_url):
    once = once_only(request)
    deliver(once.chat_postMessage, channel="C", text="hi")
    deliver(once_only(request).files_upload_v2, channel="C", content=b"")
    quiet = web_client(base_url=base_url, resend=False)
    quiet.api_call("chat.postMessage", json={})
    send = lambda text: deliver(once.chat_postMessage, channel="C", text=text)
    kept = lambda client=once: client.chat_postMessage(channel="C")
    paired, other = once, request
    paired.chat_postMessage(channel="C")
    with open(base_url) as handle:
        once.chat_postMessage(channel="C", text=handle.read())


def wrong_in_lambdas(lambda_request):
    once = once_only(lambda_request)
    send = lambda: deliver(lambda_request.chat_postMessage, channel="C")
    given = lambda any_client: any_client.chat_postMessage(channel="C")
    defaulted = lambda defaulted_client=lambda_request: defaulted_client.chat_postMessage(channel="C")


def wrong_bindings(bound_request, opener, pair):
    paired, other = once_only(bound_request), bound_request
    other.chat_postMessage(channel="C")
    unpacked, rest = pair
    unpacked.chat_postMessage(channel="C")
    rebound = once_only(bound_request)
    if pair:
        rebound = bound_request
    rebound.chat_postMessage(channel="C")
    opened = once_only(bound_request)
    with opener() as opened:
        opened.chat_postMessage(channel="C")
"""


def test_the_walk_reports_a_post_in_a_conversation_made_with_a_client_that_may_resend():
    sources = {path: text for path, text in scanned_sources().items() if path in DELIVERY}
    walk = Walk({**sources, "handlers/wrong_posts.py": WRONG_POSTS}).check()

    def said(line: str) -> str:
        return line.split(" ", 1)[1].removesuffix(" (a client that may resend)")

    wrong = sorted(said(p) for p in walk.problems if p.startswith("handlers/wrong_posts.py"))
    assert wrong == sorted(
        [
            "chat_postMessage with request",
            "files_upload_v2 with request",
            "chat.postMessage with request",
            "chat_scheduleMessage with request",
            "files_completeUploadExternal with request",
            "api_call(method) with unknown",
            "chat_postMessage with lambda_request",
            "chat_postMessage with any_client",
            "chat_postMessage with defaulted_client",
            "chat_postMessage with other",
            "chat_postMessage with unpacked",
            "chat_postMessage with rebound",
            "chat_postMessage with opened",
        ]
    ), walk.problems
    fine = [
        said(str(p))
        for p in walk.posts
        if p.path == "handlers/wrong_posts.py" and f"{p} (a client that may resend)" not in walk.problems
    ]
    # each of fine_posts(): once (twice, and in a lambda), once_only(…), resend=False, a lambda's default, a pair
    assert sorted(fine) == sorted(
        [
            "chat_postMessage with once",
            "files_upload_v2 with once_only(request)",
            "chat.postMessage with quiet",
            "chat_postMessage with once",
            "chat_postMessage with client",
            "chat_postMessage with paired",
            "chat_postMessage with once",
        ]
    ), fine
