# spotcheck production image: migrations run at start, then uvicorn serves API + /public.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SPOTCHECK_DATABASE_URL=sqlite:////data/spotcheck.db SPOTCHECK_PUBLISH_DIR=/data/publish
WORKDIR /srv/spotcheck
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY registries ./registries
COPY docs ./docs
RUN pip install --no-cache-dir . && useradd --system spotcheck && mkdir -p /data \
    && chown spotcheck /data
USER spotcheck
VOLUME ["/data"]
EXPOSE 8000
CMD ["sh", "-c", "spotcheck db upgrade && spotcheck serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-2}"]
