# syntax=docker/dockerfile:1
# The bot's container image.
#   docker build -t afasbot .
#   docker run --rm afasbot demo                      # the whole product against the AFAS sandbox
#   docker run --rm -v afasbot-data:/data --env-file bot.env afasbot db upgrade   # once per release
#   docker run -d -v afasbot-data:/data --env-file bot.env afasbot                # afasbot serve
# No secret is in the image: the Slack tokens, AFASBOT_ENCRYPTION_KEYS (or a mounted
# AFASBOT_ENCRYPTION_KEY_FILE) and a PostgreSQL URL come from the environment at run time.
# Production shape (PostgreSQL, two replicas, the upgrade as a one-shot): deploy/compose.yml.

# Build stage: a venv with afasbot and exactly the pins of constraints.txt. The same script
# runs in tests/container/test_image.py, which has no Docker engine to run this file.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY constraints.txt pyproject.toml README.md ./
COPY docker/install.sh docker/verify_pins.py docker/
COPY afas afas
COPY bot bot
COPY storage storage
RUN --mount=type=cache,target=/root/.cache/pip sh docker/install.sh /opt/afasbot

# Run stage: the base image, the venv and nothing of the build (no pip in the venv, no sources).
FROM python:3.11-slim
ENV PATH=/opt/afasbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AFASBOT_DATABASE_URL=sqlite:////data/afasbot.sqlite3
RUN groupadd --system --gid 10001 afasbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin afasbot \
    && mkdir /data \
    && chown 10001:10001 /data
COPY --from=build /opt/afasbot /opt/afasbot
COPY docker/healthcheck.py /usr/local/share/afasbot/healthcheck.py
# The SQLite default lives here (relative paths too: it is the working directory). With
# PostgreSQL nothing needs to persist and the volume stays empty.
VOLUME /data
WORKDIR /data
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/usr/local/share/afasbot/healthcheck.py", "/healthz"]
ENTRYPOINT ["afasbot"]
CMD ["serve"]
