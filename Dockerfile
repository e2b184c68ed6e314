# snapshot-api: serve a snapshot directory mounted read-only at /data.
#
#   docker build -t snapshot-api .
#   docker run --rm -p 127.0.0.1:8080:8080 snapshot-api snapshot-api serve   # the built-in sample
#   docker run --rm -v /srv/spotify:/data snapshot-api snapshot-api build /data   # once, read-write
#   docker run -d --name snapshot-api -p 127.0.0.1:8080:8080 \
#       -e SNAPSHOT_API_TRUSTED_PROXY=172.17.0.1/32 -v /srv/spotify:/data:ro snapshot-api
#
# Published on loopback for Caddy on the host (docs/serving.md, "Deploying a public mirror").
# Through Docker's bridge the server sees every connection coming from the bridge gateway
# (172.17.0.1 on the default bridge; `docker network inspect bridge`), not from loopback:
# trusting exactly that address makes it believe Caddy's X-Forwarded-For, without which every
# client would share one rate-limit bucket. With `--network host` keep the default instead
# and add -e SNAPSHOT_API_HOST=127.0.0.1.
#
# Installed as the README does it (a virtualenv, then pip), in a build stage whose
# virtualenv is copied into the runtime image; non-editable, since the source tree
# stays behind. The built-in sample is made at build time under XDG_CACHE_HOME, so
# `snapshot-api serve` and `snapshot-api sample` work for the unprivileged user, whose
# HOME does not exist.

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
    XDG_CACHE_HOME=/opt/snapshot-api-cache \
    SNAPSHOT_API_HOST=0.0.0.0 \
    SNAPSHOT_API_PORT=8080
COPY --from=build /opt/venv /opt/venv
RUN snapshot-api sample --json \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin snapshot
USER 10001:10001
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('SNAPSHOT_API_PORT', '8080'), timeout=4)"]
CMD ["snapshot-api", "serve", "/data"]
