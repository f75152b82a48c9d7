FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
RUN useradd --create-home --uid 1000 studio

COPY pyproject.toml README.md ./
COPY manage.py ./
COPY postmortems ./postmortems
COPY incidents ./incidents
COPY actionitems ./actionitems
COPY insights ./insights
COPY integrations ./integrations
COPY api ./api
COPY templates ./templates
COPY static ./static
RUN pip install . \
    && DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var /app/media && chown studio /app/var /app/media

USER studio
EXPOSE 8000
CMD ["gunicorn", "postmortems.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
