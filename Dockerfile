# a11y-proxy: slim image, non-root, health-checked. Bundled rules live in /etc/a11y-proxy/rules;
# mount your own folder there (or set A11Y_PROXY_RULES) to override them.
#   docker build -t a11y-proxy .
#   docker run -p 8080:8080 -e A11Y_PROXY_UPSTREAM=https://www.example.gov.cn \
#              -v $PWD/site.yaml:/etc/a11y-proxy/site.yaml:ro -e A11Y_PROXY_CONFIG=/etc/a11y-proxy/site.yaml a11y-proxy
#   docker run -p 8080:8080 a11y-proxy demo      (the bundled demo portal, offline)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    A11Y_PROXY_LISTEN=0.0.0.0:8080 \
    A11Y_PROXY_RULES=/etc/a11y-proxy/rules

WORKDIR /app
COPY pyproject.toml README.md ./
COPY proxy ./proxy
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin a11y
COPY rules /etc/a11y-proxy/rules

USER a11y
EXPOSE 8080
# /-/health answers whatever the Host header, so the probe needs no configuration.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/-/health', timeout=2).status != 200)"]

ENTRYPOINT ["a11y-proxy"]
CMD ["serve"]
