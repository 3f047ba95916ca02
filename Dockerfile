# The bot's container image. Build: docker build -t afasbot .
# Run the demo: docker run --rm afasbot demo
# Production: set AFASBOT_DATABASE_URL (PostgreSQL) and AFASBOT_ENCRYPTION_KEYS (or mount a key
# file and set AFASBOT_ENCRYPTION_KEY_FILE), run `afasbot db upgrade` once per release, then
# `afasbot serve`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 afasbot
WORKDIR /app

COPY pyproject.toml README.md ./
COPY afas ./afas
COPY bot ./bot
COPY storage ./storage
RUN pip install . && rm -rf /root/.cache

USER afasbot
WORKDIR /home/afasbot
ENTRYPOINT ["afasbot"]
CMD ["serve"]
