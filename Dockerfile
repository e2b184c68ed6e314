# snapshot-api: serve a snapshot directory mounted read-only at /data.
#
#   docker build -t snapshot-api .
#   docker run --rm -v /srv/spotify:/data snapshot-api snapshot-api build /data   # once, read-write
#   docker run -d --name snapshot-api -p 127.0.0.1:8080:8080 \
#       -v /srv/spotify:/data:ro snapshot-api
#
# Installed as the README does it (a virtualenv, then pip), in a build stage whose
# virtualenv is copied into the runtime image; non-editable, since the source tree
# stays behind. See docs/deploy.md for proxies, workers and the client address.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY snapshot_api ./snapshot_api
COPY beetsplug ./beetsplug
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SNAPSHOT_API_HOST=0.0.0.0 \
    SNAPSHOT_API_PORT=8080
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin snapshot
USER 10001:10001
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('SNAPSHOT_API_PORT', '8080'), timeout=4)"]
CMD ["snapshot-api", "serve", "/data"]
