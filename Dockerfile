# syntax=docker/dockerfile:1
# The bot's image: `docker build -t okr-bot .`, or `docker compose up` (compose.yaml).
# Two stages on the official slim Python image: the builder installs the bot and its dependencies into a
# virtual environment, and the runtime stage copies only that environment: no compilers, no pip caches, no
# tests, no .git. The process runs as an unprivileged user, and `okr-bot` is PID 1 (docker/entrypoint.sh
# execs it), so SIGTERM reaches the bot itself, which stops within SHUTDOWN_GRACE seconds.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# what building the wheel reads: the project's metadata and its packages, nothing else (.dockerignore)
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY migrations ./migrations
# every dependency has a wheel for Linux on x86-64 and arm64, so nothing is compiled here either
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install /wheels/okr_bot-*.whl

FROM python:${PYTHON_VERSION}-slim AS runtime
# a fixed, numeric uid and gid: a volume's owner can be set to match, and Kubernetes' runAsNonRoot can check it
RUN groupadd --system --gid 10001 okr \
 && useradd --system --uid 10001 --gid okr --home-dir /app --no-create-home --shell /usr/sbin/nologin okr \
 && mkdir /app \
 && chown okr:okr /app
COPY --from=builder /opt/venv /opt/venv
COPY docker/entrypoint.sh /usr/local/bin/okr-bot-entrypoint
COPY docker/healthcheck.py /usr/local/lib/okr-bot/healthcheck.py
# modes set here rather than with COPY --chmod, which the builder before BuildKit does not know
RUN chmod 0755 /usr/local/bin/okr-bot-entrypoint \
 && chmod 0644 /usr/local/lib/okr-bot/healthcheck.py
# HOME is the working directory, the one place the user may write: matplotlib keeps its font cache there, and a
# SQLite DATABASE_URL (sqlite:///okr-bot.db, the default) is a file there; production uses PostgreSQL
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/app \
    PORT=3000
WORKDIR /app
USER 10001:10001
EXPOSE 3000
STOPSIGNAL SIGTERM
# liveness only: a database that is down makes /readyz say 503, and restarting the process would not bring it back
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/lib/okr-bot/healthcheck.py", "/livez"]
ENTRYPOINT ["okr-bot-entrypoint"]
CMD ["okr-bot", "serve"]
