# strategy-bot as a container: `docker build -t strategy-bot .` (see docs/deployment.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 PORT=3978
WORKDIR /app

# The package and its dependencies first, so a code change rebuilds only the last layer.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install --no-cache-dir . \
    && useradd --system --home /app strategybot \
    && mkdir -p /data && chown strategybot /data
USER strategybot

# SQLite in a volume by default; set DATABASE_URL=postgresql://... for replicas.
ENV DATABASE_URL=sqlite:////data/strategy-bot.db
VOLUME ["/data"]
EXPOSE 3978
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"

# `serve` migrates the database first (under an advisory lock on PostgreSQL).
CMD ["strategy-bot", "serve"]
