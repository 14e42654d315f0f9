# spotcheck production image (docs/operations.md#container): `serve` (default) migrates, creates
# the first administrator from the environment once and serves API, console and /public;
# `worker` runs the scheduled and publishing work. Data in /data, keys in /keys (volumes).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SPOTCHECK_DATA=/data SPOTCHECK_KEYS=/keys
WORKDIR /srv/spotcheck
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY registries ./registries
COPY docs ./docs
COPY docker/entrypoint.sh /usr/local/bin/spotcheck-entrypoint
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /data spotcheck \
    && mkdir -p /data /keys && chown spotcheck /data /keys && chmod 0700 /keys
USER spotcheck
VOLUME ["/data", "/keys"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4).status == 200 else 1)"
ENTRYPOINT ["spotcheck-entrypoint"]
CMD ["serve"]
