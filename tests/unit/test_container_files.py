"""The container files, read as text: Dockerfile, .dockerignore, docker/entrypoint.sh, compose.yaml and .env.example.

No container engine runs here, so these tests hold the files to what the image and compose must do (official slim
Python stages, an unprivileged user, the entrypoint and health check it runs, the services and their order), and
tests/e2e/test_container_smoke.py runs what the image runs, outside a container.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from bot.settings import Settings, parse_database_url

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = "docker/entrypoint.sh"
HEALTHCHECK = "docker/healthcheck.py"
BOT_SERVICES = ("migrate", "bot", "sweeper")


# -- the Dockerfile, parsed ----------------------------------------------------------------------------------------


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"the stage FROM {self.image} has no {keyword}"
        return found[-1]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) in order: comments dropped and continued lines joined, as Docker reads them."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(args.split())))
    return found


def parse_dockerfile() -> tuple[dict[str, str], list[Stage]]:
    """The ARGs declared before the first FROM (with their defaults), and the stages."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, args in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: global_args[m[1] or m[2]], words[0])
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else None
            stages.append(Stage(image, name))
        elif not stages:
            assert keyword == "ARG", f"only ARG may come before the first FROM, not {keyword}"
            name, _, default = args.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append((keyword, args))
    return global_args, stages


@dataclass
class Copy:
    flags: dict[str, str]
    sources: list[str]
    destination: str


def copies(stage: Stage) -> list[Copy]:
    found = []
    for args in stage.all("COPY") + stage.all("ADD"):
        words = shlex.split(args)
        flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
        rest = [w for w in words if not w.startswith("--")]
        if rest and rest[0].startswith("["):
            rest = json.loads(" ".join(rest))
        found.append(Copy(flags, rest[:-1], rest[-1]))
    return found


def copied_to(stage: Stage, source: str) -> str:
    """Where in the image the stage copies a file of the build context."""
    for copy in copies(stage):
        if "from" not in copy.flags and source in copy.sources:
            return copy.destination
    raise AssertionError(f"the final stage does not copy {source}")


def exec_form(args: str) -> list[str]:
    """CMD, ENTRYPOINT and HEALTHCHECK CMD in exec form (a JSON list): no shell between Docker and the process."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not in exec form: {args}"
    return value


def test_every_stage_is_the_official_slim_python_image_at_the_project_python():
    global_args, stages = parse_dockerfile()
    assert len(stages) >= 2, "a builder stage and a runtime stage"
    version = global_args.get("PYTHON_VERSION")
    assert version and re.fullmatch(r"3\.\d+", version), "PYTHON_VERSION, the minor version, is a build argument"
    for stage in stages:
        assert stage.image == f"python:{version}-slim", stage.image  # Docker Hub's official image, its slim variant
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lowest = pyproject["project"]["requires-python"].removeprefix(">=")
    assert tuple(map(int, version.split("."))) >= tuple(map(int, lowest.split(".")))
    assert len({stage.name for stage in stages}) == len(stages), "each stage has a name of its own"


def test_the_builder_builds_a_wheel_of_every_package_into_the_venv_the_runtime_copies():
    _, stages = parse_dockerfile()
    builder, runtime = stages[0], stages[-1]
    copied = {source.rstrip("/") for copy in copies(builder) for source in copy.sources}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied, "the wheel would miss a package"
    assert pyproject["project"]["readme"] in copied, "building the wheel reads the readme"
    assert any("pip wheel" in run for run in builder.all("RUN")), "the project is built as a wheel"
    assert "PATH=/opt/venv/bin:" in " ".join(builder.all("ENV")), "the builder installs into /opt/venv"
    from_builder = [copy for copy in copies(runtime) if "from" in copy.flags]
    assert [(c.flags["from"], c.sources, c.destination) for c in from_builder] == [
        (builder.name, ["/opt/venv"], "/opt/venv")
    ], "the runtime stage takes only the venv from the builder"
    assert re.search(r"\bPATH=/opt/venv/bin:\$PATH\b", " ".join(runtime.all("ENV"))), "okr-bot is the venv's"
    installs = " ".join(runtime.all("RUN"))
    assert not re.search(r"\b(gcc|g\+\+|build-essential|pip install)\b", installs), installs


def test_nothing_from_tests_or_benchmarks_is_copied_and_every_copied_file_exists():
    _, stages = parse_dockerfile()
    ignore = DockerIgnore.read()
    for stage in stages:
        for copy in copies(stage):
            if "from" in copy.flags:
                continue
            for source in copy.sources:
                path = source.rstrip("/")
                assert path not in (".", "*") and not path.startswith(("tests", "benchmarks", ".")), source
                assert "*" not in path, f"{source}: name what is copied"
                assert (ROOT / path).exists(), f"the Dockerfile copies {source}, which does not exist"
                assert not ignore.excludes(path), f".dockerignore leaves {source} out of the build context"
                if (ROOT / path).is_dir():
                    files = [f for f in (ROOT / path).rglob("*") if f.is_file() and "__pycache__" not in f.parts]
                    assert files
                    left_out = [str(f.relative_to(ROOT)) for f in files if ignore.excludes(f.relative_to(ROOT))]
                    assert not left_out, f".dockerignore leaves out files of {source}: {left_out[:5]}"


def test_the_runtime_runs_okr_bot_serve_as_an_unprivileged_user_through_the_entrypoint():
    _, stages = parse_dockerfile()
    runtime = stages[-1]
    user, _, group = runtime.last("USER").partition(":")
    # numeric, so an orchestrator can tell it is not root without reading /etc/passwd (Kubernetes' runAsNonRoot)
    assert user.isdigit() and int(user) > 0, f"USER {user}"
    assert not group or (group.isdigit() and int(group) > 0), f"group {group}"
    workdir = runtime.last("WORKDIR")
    assert any(re.search(rf"chown \S+ {re.escape(workdir)}\b", run) for run in runtime.all("RUN")), (
        f"the working directory {workdir} belongs to the user"
    )
    assert any(re.search(rf"--uid {user}\b", run) for run in runtime.all("RUN")), "the user exists, with that uid"
    assert exec_form(runtime.last("CMD")) == ["okr-bot", "serve"]
    entrypoint = exec_form(runtime.last("ENTRYPOINT"))
    destination = copied_to(runtime, ENTRYPOINT)
    assert entrypoint in ([destination], [Path(destination).name]), entrypoint
    if entrypoint == [Path(destination).name]:
        assert Path(destination).parent.as_posix() in ("/usr/local/bin", "/usr/bin", "/bin")
    entrypoint_copy = next(c for c in copies(runtime) if ENTRYPOINT in c.sources)
    # executable in the image, by COPY --chmod (BuildKit only) or a chmod after the copy (any builder)
    copied_executable = int(entrypoint_copy.flags.get("chmod", "0"), 8) & 0o111
    made_executable = any(
        re.search(rf"chmod (0?[0-7]*[1357][0-7]*|[+a-z]*x) {re.escape(destination)}\b", run)
        for run in runtime.all("RUN")
    )
    assert copied_executable or made_executable, "the entrypoint is executable in the image"


def test_the_runtime_environment_port_and_stop_signal():
    _, stages = parse_dockerfile()
    runtime = stages[-1]
    env = " ".join(runtime.all("ENV"))
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env), "log lines reach `docker logs` as they are written"
    assert runtime.last("EXPOSE") == "3000"
    assert re.search(r"\bPORT=3000\b", env)
    assert runtime.last("STOPSIGNAL") == "SIGTERM"


def test_the_image_health_check_asks_livez_with_python():
    _, stages = parse_dockerfile()
    runtime = stages[-1]
    options, _, command = runtime.last("HEALTHCHECK").partition(" CMD ")
    assert all(option.startswith("--") for option in options.split()), options
    probe = exec_form(command)
    # liveness: restarting a process because its database is down would not bring the database back
    assert probe == ["python", copied_to(runtime, HEALTHCHECK), "/livez"]
    assert "curl" not in DOCKERFILE.read_text() and "wget" not in DOCKERFILE.read_text()


# -- .dockerignore -------------------------------------------------------------------------------------------------


class DockerIgnore:
    """.dockerignore's patterns, matched as Docker does: a pattern matches a path or one of its parent folders,
    `*` within a name, `**` across folders, `!` lets back in, and the last pattern that matches decides."""

    def __init__(self, patterns: list[tuple[bool, re.Pattern[str]]]) -> None:
        self.patterns = patterns

    @classmethod
    def read(cls) -> DockerIgnore:
        patterns = []
        for line in (ROOT / ".dockerignore").read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                negated = line.startswith("!")
                patterns.append((negated, cls._regex(line.removeprefix("!").strip("/"))))
        return cls(patterns)

    @staticmethod
    def _regex(pattern: str) -> re.Pattern[str]:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                out, i = out + pattern[i : end + 1], end + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return re.compile(out)

    def excludes(self, path: str | Path) -> bool:
        parts = Path(path).as_posix().split("/")
        candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        excluded = False
        for negated, regex in self.patterns:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                excluded = not negated
        return excluded


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        "tests/unit/test_container_files.py",
        "benchmarks/__init__.py",
        ".pytest_cache/README.md",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
        "okr-bot.db",
        "bot/okr-bot.db",
        "local.sqlite3",
        "bot/__pycache__/app.cpython-311.pyc",
        "storage/__pycache__/db.cpython-311.pyc",
        "okr_bot.egg-info/PKG-INFO",
        "build/lib/bot/app.py",
        ".env",
        "compose.yaml",
    ],
)
def test_dockerignore_keeps_out_of_the_build_context(path):
    assert DockerIgnore.read().excludes(path)


def test_dockerignore_lets_in_what_the_wheel_is_built_from():
    ignore = DockerIgnore.read()
    for path in ("pyproject.toml", "README.md", "bot/app.py", "bot/templates", "migrations/versions", ENTRYPOINT):
        assert not ignore.excludes(path), path


# -- the entrypoint ------------------------------------------------------------------------------------------------


def okr_bot_commands() -> set[str]:
    from bot.cli import _parser

    (subcommands,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return set(subcommands.choices)


def test_the_entrypoint_passes_every_okr_bot_command_and_only_those_to_okr_bot():
    text = (ROOT / ENTRYPOINT).read_text()
    assert text.startswith("#!/bin/sh\n") and "\nset -eu\n" in text
    # the case pattern that names okr-bot's commands: `"" | serve | socket | … | -*) ;;`
    (pattern,) = [
        line.partition(")")[0]
        for line in text.splitlines()
        if re.search(r"\|\s*serve\s*\|", line) and not line.lstrip().startswith("#")
    ]
    words = {word.strip().strip('"') for word in pattern.split("|")}
    assert words - {"", "-*"} == okr_bot_commands(), "the entrypoint's list of commands is bot/cli.py's"
    assert 'exec okr-bot "$@"' in text and 'exec "$@"' in text


# -- compose.yaml and .env.example ---------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def env_example() -> dict[str, tuple[bool, str]]:
    """.env.example's variables: name → (set, not commented out; its value)."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            assert match[2] not in found, f"{match[2]} twice in .env.example"
            found[match[2]] = (not match[1], match[3])
    return found


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME-default}, and $$ for a dollar."""

    def one(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        name, colon, default = match[1], match[2], match[3]
        if name in env and (env[name] or not colon):
            return env[name]
        return default or ""

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}", one, value)


def compose_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", (ROOT / "compose.yaml").read_text()))


def settings_variables() -> set[str]:
    """Every variable bot/settings.py reads, recorded as Settings.from_env asks for it."""

    class Recording(dict):
        def __init__(self) -> None:
            super().__init__()
            self.asked: set[str] = set()

        def get(self, key, default=None):
            self.asked.add(key)
            return default

        def __getitem__(self, key):
            self.asked.add(key)
            raise KeyError(key)

        def __contains__(self, key):
            self.asked.add(key)
            return False

    environ = Recording()
    Settings.from_env(environ)
    return environ.asked


def entrypoint_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / ENTRYPOINT).read_text()))


def command_of(service: dict) -> list[str]:
    command = service["command"]
    words = shlex.split(command) if isinstance(command, str) else list(command)
    return words[1:] if words[:1] == ["okr-bot"] else words


def seconds(duration: str) -> float:
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[u] for n, u in parts)


def test_compose_has_the_database_the_migration_the_bot_and_the_sweeper():
    services = compose()["services"]
    assert set(services) == {"db", *BOT_SERVICES}
    images = {(services[name]["image"], json.dumps(services[name]["build"])) for name in BOT_SERVICES}
    assert len(images) == 1, "the migration, the bot and the sweeper run one image"
    (_, build), *_ = images
    assert json.loads(build) in (".", {"context": "."}), "built from this repository's Dockerfile"
    assert command_of(services["migrate"]) == ["migrate"]
    assert command_of(services["bot"]) == ["serve"]
    assert command_of(services["sweeper"]) == ["scheduler"]
    for name in BOT_SERVICES:
        assert command_of(services[name])[0] in okr_bot_commands()


def test_the_database_keeps_its_data_in_a_named_volume_and_says_when_it_is_ready():
    document = compose()
    db = document["services"]["db"]
    assert re.fullmatch(r"postgres:16-(alpine|bookworm)", db["image"])
    volume, _, mount = db["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data" and volume in (document.get("volumes") or {}), db["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert re.fullmatch(rf"\$\{{{name}:-\w+\}}", db["environment"][name]), "from .env, with a default"


def test_the_services_start_in_order_db_migrate_then_bot_and_sweeper():
    services = compose()["services"]
    migrate = services["migrate"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"  # a string: YAML reads a bare no as false
    for name in ("bot", "sweeper"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert services[name]["restart"] in ("unless-stopped", "always", "on-failure"), name


@pytest.mark.parametrize("values", ["defaults", ".env.example"])
def test_every_bot_service_reaches_postgresql_on_the_db_service(values):
    services = compose()["services"]
    env = {} if values == "defaults" else {name: value for name, (_, value) in env_example().items()}
    db = {key: interpolate(value, env) for key, value in services["db"]["environment"].items()}
    for name in BOT_SERVICES:
        assert ".env" in (
            [services[name]["env_file"]] if isinstance(services[name]["env_file"], str) else services[name]["env_file"]
        ), name
        url = parse_database_url(interpolate(services[name]["environment"]["DATABASE_URL"], env))
        assert (url.get_backend_name(), url.host, url.port) == ("postgresql", "db", 5432), name
        assert (url.username, url.password, url.database) == (
            db["POSTGRES_USER"],
            db["POSTGRES_PASSWORD"],
            db["POSTGRES_DB"],
        ), name


def test_the_bot_answers_slack_on_port_3000_and_the_sweeper_sweeps():
    services = compose()["services"]
    bot, sweeper = services["bot"], services["sweeper"]
    assert bot["environment"]["SCHEDULER"] == "off"
    assert bot["environment"]["PORT"] == "3000" and sweeper["environment"]["PORT"] == "3000"
    assert [str(port).rsplit(":", 1)[-1] for port in bot["ports"]] == ["3000"]
    assert "ports" not in sweeper, "the sweeper answers no Slack requests"
    # `okr-bot scheduler` refuses SCHEDULER=off: nothing in .env can turn the sweeper's sweep off
    assert sweeper["environment"].get("SCHEDULER") == "on"
    assert sweeper.get("deploy", {}).get("replicas", 1) == 1


def test_bot_and_sweeper_are_probed_for_readiness_and_given_time_to_stop():
    from bot.shutdown import GRACE

    _, stages = parse_dockerfile()
    script = copied_to(stages[-1], HEALTHCHECK)
    services = compose()["services"]
    for name in ("bot", "sweeper"):
        service = services[name]
        assert service["healthcheck"]["test"] == ["CMD", "python", script, "/readyz"], name
        assert service["init"] is False, f"{name}: the bot is PID 1 and handles SIGTERM itself"
        assert seconds(service["stop_grace_period"]) > GRACE, f"{name}: SIGKILL before SHUTDOWN_GRACE is over"
    assert services["migrate"]["healthcheck"] == {"disable": True}


def test_env_example_lists_only_what_the_bot_compose_or_the_entrypoint_reads():
    readers = settings_variables() | compose_variables() | entrypoint_variables()
    assert set(env_example()) - readers == set()


def test_env_example_lists_every_setting_and_sets_what_serving_slack_needs():
    listed = env_example()
    assert settings_variables() - set(listed) == set(), "a setting .env.example does not mention"
    assert compose_variables() - set(listed) == set(), "a variable compose.yaml reads that .env.example does not list"
    for required in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        assert listed[required] == (True, ""), f"{required}: to fill in, not commented out"
    for oauth in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        assert listed[oauth][0] is False, f"{oauth}: the other way to install, commented out"
    # compose.yaml sets these for every bot service, over .env: a value there would be ignored
    for name in ("DATABASE_URL", "PORT"):
        assert listed[name][0] is False, name
    secrets = Settings.from_env(
        {name: "xoxb-0" if name == "SLACK_BOT_TOKEN" else "x" for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")}
    )
    secrets.require_http_credentials()  # those two are enough to serve Slack
