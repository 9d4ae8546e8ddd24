# a11y-proxy: a slim image with a numeric non-root user, a read-only-root-friendly process and a health check
# that follows the configured port.  README.md ("Docker") has the details; in short:
#   docker build -t a11y-proxy .
#   docker run -p 8080:8080 -e A11Y_PROXY_UPSTREAM=https://www.example.gov.cn \
#              -e A11Y_PROXY_PUBLIC_HOSTS=a11y.example.gov.cn a11y-proxy
#   docker run -p 8080:8080 a11y-proxy demo      (the bundled demo portal, offline)
#
# The base is pinned to one Python release on one Debian release: the floating python:3.11-slim moves to a
# new Debian without notice.  Updating it, and the dependency pins in constraints.txt, is described in
# README.md ("Updating the pins").  Where a registry is reachable, pin the digest too:
#   ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest from `docker buildx imagetools inspect`>
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# Build stage: a virtual environment with the package and its pinned dependencies, the C accelerators (the
# Traditional-script step, the landmark repairs' measuring walk) compiled in.  Without a compiler the build
# would quietly fall back to the slower pure-Python steps, so the import check fails it.  No wheel is kept: pip builds and installs in one step.
FROM ${PYTHON_IMAGE} AS build
# gcc and libc6-dev come from the pinned Debian release; their versions follow its point releases.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY constraints.txt pyproject.toml setup.py README.md ./
COPY proxy ./proxy
# PIP_CONSTRAINT (not only -c) so that the build backend in pip's isolated build environment is pinned too.
RUN python -m venv /opt/a11y-proxy \
    && PIP_CONSTRAINT=/src/constraints.txt /opt/a11y-proxy/bin/pip install --no-cache-dir \
       --disable-pip-version-check -c /src/constraints.txt . \
    && /opt/a11y-proxy/bin/pip uninstall --yes --disable-pip-version-check pip setuptools \
    && /opt/a11y-proxy/bin/python -P -c "from proxy.transforms import _trad_scan, _measure"

# Runtime stage: no compiler, no pip; the virtual environment, the bundled rules and the image's defaults.
FROM ${PYTHON_IMAGE}

# A fixed numeric user and group: Kubernetes' runAsNonRoot can check a numeric USER, and files mounted into
# the container (rules, config) can be made readable to exactly this uid/gid.
RUN groupadd --gid 10001 a11y \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
               --shell /usr/sbin/nologin --no-log-init a11y

COPY --from=build /opt/a11y-proxy /opt/a11y-proxy
COPY rules /etc/a11y-proxy/rules
COPY deploy/image-defaults.yaml /etc/a11y-proxy/defaults.yaml

# A11Y_PROXY_DEFAULTS names the image's defaults file (listen on all interfaces, the bundled rules): it sits
# *below* your config file, the environment and flags, so nothing baked into the image overrides them.
ENV PATH=/opt/a11y-proxy/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    A11Y_PROXY_DEFAULTS=/etc/a11y-proxy/defaults.yaml

USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
# `a11y-proxy healthcheck` finds the port the same way `serve` and `demo` do (flags of the running command,
# environment, config file, defaults) and asks /-/health, which answers whatever the Host.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["a11y-proxy", "healthcheck"]

ENTRYPOINT ["a11y-proxy"]
CMD ["serve"]
