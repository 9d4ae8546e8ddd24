# a11y-proxy: slim image, non-root, health-checked. Bundled rules live in /etc/a11y-proxy/rules;
# mount your own folder there (or set A11Y_PROXY_RULES) to override them.
#   docker build -t a11y-proxy .
#   docker run -p 8080:8080 -e A11Y_PROXY_UPSTREAM=https://www.example.gov.cn \
#              -v $PWD/site.yaml:/etc/a11y-proxy/site.yaml:ro -e A11Y_PROXY_CONFIG=/etc/a11y-proxy/site.yaml a11y-proxy
#   docker run -p 8080:8080 a11y-proxy demo      (the bundled demo portal, offline)

# Build stage: the wheel, with the C accelerator of the Traditional-script step compiled in.  Without a
# compiler the build would quietly fall back to the slower pure-Python step, so the import check fails it.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY proxy ./proxy
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && pip install --no-cache-dir --no-deps /wheels/*.whl \
    && cd / && python -c "from proxy.transforms import _trad_scan"

# Runtime stage: no compiler, just the wheel and its dependencies.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    A11Y_PROXY_LISTEN=0.0.0.0:8080 \
    A11Y_PROXY_RULES=/etc/a11y-proxy/rules

COPY --from=build /wheels /tmp/wheels
RUN pip install /tmp/wheels/*.whl && rm -rf /tmp/wheels \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin a11y
COPY rules /etc/a11y-proxy/rules

USER a11y
EXPOSE 8080
# /-/health answers whatever the Host header, so the probe needs no configuration.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/-/health', timeout=2).status != 200)"]

ENTRYPOINT ["a11y-proxy"]
CMD ["serve"]
