"""Every tunable of the proxy, with its default, in one place; loaded from a YAML config file.

The rest of the code only sees these typed objects, never raw YAML.
"""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yarl import URL

from . import modes as modes_mod
from .urls import Authority
from .yamlsource import Located, SourceError, expect_mapping, load_file

MiB = 1024 * 1024


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0  # seconds to open a connection to the upstream
    read: float = 30.0  # seconds of silence allowed while reading the upstream response
    total: float = 120.0  # seconds for a whole upstream exchange that we buffer (HTML); streams are bounded by `read`
    # The reader's side (nginx: client_header_timeout / keepalive_timeout, client_body_timeout, send_timeout):
    client_idle: float = 60.0  # a connection that sends no complete request head for this long is closed
    client_body: float = 60.0  # silence allowed while a reader sends a request body (then 408)
    client_send: float = 60.0  # how long a reader may leave our writes unread before we hang up
    transform: float = 2.0  # time budget of one page's transforms; past it the page goes out as the upstream sent it
    drain: float = 30.0  # on SIGTERM: how long in-flight requests may take to finish before the process exits


@dataclass(frozen=True)
class Limits:
    html_max_bytes: int = 8 * MiB  # larger HTML streams through untransformed
    css_max_bytes: int = 2 * MiB  # larger stylesheets stream through untransformed
    json_max_bytes: int = 4 * MiB
    search_body_max_bytes: int = 64 * 1024  # form bodies we re-encode for search (trad reverse path)
    upstream_connections: int = 256  # pool size of the shared client session
    # A request body up to this size is read whole before an upstream connection is taken, so a reader who
    # sends slowly holds only their own connection (larger uploads stream, within timeouts.client_body).
    request_buffer_bytes: int = 1 * MiB
    # Up to this much of a response is read ahead from the upstream while the reader is slow to take it, so
    # a response that fits frees its upstream connection at once, whatever the reader's speed.
    response_buffer_bytes: int = 1 * MiB
    request_headers_bytes: int = 32 * 1024  # all request header lines together (then 431)
    # HTML held for rewriting by all requests together: past it, further pages stream through untransformed.
    transform_memory_bytes: int = 256 * MiB
    compress_min_bytes: int = 1024  # smaller transformed bodies are sent uncompressed
    # POST /-/convert (Traditional script for text the page's own scripts write): one request's body, and its texts
    convert_body_max_bytes: int = 256 * 1024
    convert_max_texts: int = 2000


@dataclass(frozen=True)
class PublicHost:
    """A host name readers reach the proxy by, with the modes it serves when the reader chose none."""

    name: str
    modes: modes_mod.Modes = modes_mod.PLAIN


@dataclass(frozen=True)
class Toolbar:
    enabled: bool = True
    position: str = "top"  # top | bottom


@dataclass(frozen=True)
class Settings:
    upstream: URL = URL("http://127.0.0.1:8000")
    # Other origins that are the same site (http/https twins, bare domain): their absolute links are rewritten too.
    upstream_aliases: tuple[str, ...] = ()
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    public_hosts: tuple[PublicHost, ...] = ()
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    rules_dir: Path | None = None
    rules_reload_seconds: float = 2.0  # how often rule files are checked for changes (0: never)
    timeouts: Timeouts = Timeouts()
    limits: Limits = Limits()
    toolbar: Toolbar = Toolbar()
    trad_variant: str = "s2t"  # OpenCC config used by the plain `trad` mode
    cookie_name: str = "a11y_modes"
    cookie_max_age: int = 365 * 24 * 3600
    access_log: bool = True
    workers: int = 0  # processes for `serve` (0: one per core the process may use)
    cache_max_bytes: int = 64 * MiB  # the transform cache, per process (0 turns it off)
    debug_view: bool = True  # /-/debug/<path> for rule authors (false turns it off: 404)
    # Who may read /-/metrics: networks (CIDR); empty = anyone who reaches the proxy.
    metrics_allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    log_format: str = "text"  # text | json (one object per line: see proxy/logs.py)

    # Asked on every request: worked out once per Settings (frozen, so the answers never change; a
    # cached_property writes the instance's __dict__ directly, which a frozen dataclass allows).
    @functools.cached_property
    def upstream_origin(self) -> str:
        return str(self.upstream.origin())

    def upstream_hosts(self) -> frozenset[str]:
        """Host[:port] forms that count as 'the upstream' when seen in absolute URLs."""
        return self._upstream_hosts

    @functools.cached_property
    def _upstream_hosts(self) -> frozenset[str]:
        hosts = {self.upstream.host or ""}
        if self.upstream.explicit_port:
            hosts = {f"{self.upstream.host}:{self.upstream.port}"}
        hosts.update(a.lower() for a in self.upstream_aliases)
        return frozenset(h.lower() for h in hosts)

    def host_for(self, host: Authority | str | None) -> PublicHost | None:
        """The configured public host a validated Host (urls.Authority) names, matched by name whatever the
        port, or None if the host is not ours.  A string is parsed first, strictly: a malformed one is nobody's."""
        if not isinstance(host, Authority):
            host = Authority.parse(host.strip() if host else None)
        name = host.name if host is not None else ""
        if not name:
            return None
        return self._hosts_by_name.get(name)

    @functools.cached_property
    def _hosts_by_name(self) -> dict[str, PublicHost]:
        """Name -> public host, as host_for matches them (the first entry of a name wins)."""
        if not self.public_hosts:
            # Unconfigured: answer only to loopback names, so a fresh install is never an open relay.
            return {name: PublicHost(name) for name in _LOOPBACK_NAMES | {_host_name(self.listen_host)} if name}
        found: dict[str, PublicHost] = {}
        for public in self.public_hosts:
            found.setdefault(_host_name(public.name), public)
        found.pop("", None)
        return found

    def is_trusted(self, peer: str | None) -> bool:
        return _in_networks(peer, self.trusted_proxies)

    def may_read_metrics(self, peer: str | None) -> bool:
        return not self.metrics_allow or _in_networks(peer, self.metrics_allow)


def _in_networks(peer: str | None, networks) -> bool:
    if not peer or not networks:
        return False
    return _address_in(peer, networks)


@functools.lru_cache(maxsize=4096)  # asked several times per request, mostly for the same few front addresses
def _address_in(peer: str, networks) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in net for net in networks)


_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "[::1]"}


def _host_name(text: str) -> str:
    """The name a host in the config (or `listen`) is matched by: lower case, no trailing dot, no port, an
    IPv6 address bracketed and compressed; '' if `text` is not host[:port] (see urls.Authority)."""
    text = text.strip()
    if ":" in text and not text.startswith("["):  # a bare IPv6 address, as `listen` holds it
        try:
            text = f"[{ipaddress.IPv6Address(text).compressed}]"
        except ValueError:
            pass
    authority = Authority.parse(text)
    return authority.name if authority is not None else ""


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kib|kb|k|mib|mb|m|gib|gb|g)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": MiB, "mb": MiB, "mib": MiB,
               "g": 1024 * MiB, "gb": 1024 * MiB, "gib": 1024 * MiB}


def parse_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ValueError(f"not a size: {value!r} (use e.g. 8MiB, 512KiB or a number of bytes)")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address must be HOST:PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def parse_upstream(text: str) -> URL:
    url = URL(text)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"upstream must be an http(s) URL with a host, got {text!r}")
    return url.origin()


_TOP_KEYS = {"upstream", "upstream_aliases", "listen", "public_hosts", "trusted_proxies", "rules",
             "rules_reload_seconds", "timeouts",
             "limits", "toolbar", "trad_variant", "cookie", "access_log", "debug_view", "metrics_allow", "cache", "workers",
             "log_format"}


def load_settings(path: Path, base: Settings | None = None, **overrides: Any) -> Settings:
    """Read a site config file on top of `base` (default: the built-in defaults); keyword overrides (from the
    environment and the command line) win over the file."""
    doc = load_file(path)
    return settings_from(doc, path.parent, base=base, **overrides)


def settings_from(doc: Located, base_dir: Path, base: Settings | None = None, **overrides: Any) -> Settings:
    """The settings a config file gives, on top of `base`: a key the file leaves out keeps base's value (within
    timeouts, limits and toolbar too, key by key)."""
    base = base or Settings()
    data = expect_mapping(doc, (), doc.data, _TOP_KEYS, "the config file")
    kwargs: dict[str, Any] = {}

    def field_value(key: str, parse, *path_extra):
        try:
            return parse(data[key])
        except (ValueError, TypeError) as exc:
            raise doc.error((key,) + path_extra, str(exc)) from None

    if "upstream" in data:
        kwargs["upstream"] = field_value("upstream", lambda v: parse_upstream(str(v)))
    if "upstream_aliases" in data:
        kwargs["upstream_aliases"] = field_value("upstream_aliases", _string_list)
    if "listen" in data:
        kwargs["listen_host"], kwargs["listen_port"] = field_value("listen", lambda v: parse_listen(str(v)))
    if "public_hosts" in data:
        kwargs["public_hosts"] = _public_hosts(doc, data["public_hosts"])
    if "trusted_proxies" in data:
        kwargs["trusted_proxies"] = field_value(
            "trusted_proxies", lambda v: tuple(ipaddress.ip_network(str(n), strict=False) for n in _string_list(v)))
    if "rules" in data:
        kwargs["rules_dir"] = (base_dir / str(data["rules"])).resolve()
    if "rules_reload_seconds" in data:
        kwargs["rules_reload_seconds"] = field_value("rules_reload_seconds", lambda v: float(v))
    if "timeouts" in data:
        raw = expect_mapping(doc, ("timeouts",), data["timeouts"], set(Timeouts.__dataclass_fields__), "timeouts")
        kwargs["timeouts"] = dataclasses.replace(
            base.timeouts, **{k: _positive(doc, ("timeouts", k), v) for k, v in raw.items()})
    if "limits" in data:
        names = set(Limits.__dataclass_fields__)
        raw = expect_mapping(doc, ("limits",), data["limits"], names, "limits")
        values = {}
        for key, value in raw.items():
            try:
                values[key] = parse_size(value) if key.endswith("_bytes") else int(value)
            except (ValueError, TypeError) as exc:
                raise doc.error(("limits", key), str(exc)) from None
        kwargs["limits"] = dataclasses.replace(base.limits, **values)
    if "toolbar" in data:
        raw = expect_mapping(doc, ("toolbar",), data["toolbar"], {"enabled", "position"}, "toolbar")
        if raw.get("position", "top") not in ("top", "bottom"):
            raise doc.error(("toolbar", "position"), "toolbar position must be 'top' or 'bottom'")
        kwargs["toolbar"] = dataclasses.replace(base.toolbar, **raw)
    if "trad_variant" in data:
        variant = str(data["trad_variant"])
        if variant not in {v for v in modes_mod.TRAD_VARIANTS.values() if v}:
            raise doc.error(("trad_variant",), f"trad_variant must be one of s2t, s2tw, s2twp, s2hk, got {variant!r}")
        kwargs["trad_variant"] = variant
    if "cookie" in data:
        raw = expect_mapping(doc, ("cookie",), data["cookie"], {"name", "max_age"}, "cookie")
        if "name" in raw:
            kwargs["cookie_name"] = str(raw["name"])
        if "max_age" in raw:
            kwargs["cookie_max_age"] = int(raw["max_age"])
    if "access_log" in data:
        kwargs["access_log"] = bool(data["access_log"])
    if "workers" in data:
        kwargs["workers"] = field_value("workers", _workers)
    if "cache" in data:
        raw = expect_mapping(doc, ("cache",), data["cache"], {"max_bytes"}, "cache")
        if "max_bytes" in raw:
            try:
                kwargs["cache_max_bytes"] = parse_size(raw["max_bytes"])
            except (ValueError, TypeError) as exc:
                raise doc.error(("cache", "max_bytes"), str(exc)) from None
    if "debug_view" in data:
        kwargs["debug_view"] = bool(data["debug_view"])
    if "metrics_allow" in data:
        kwargs["metrics_allow"] = field_value(
            "metrics_allow", lambda v: tuple(ipaddress.ip_network(str(n), strict=False) for n in _string_list(v)))
    if "log_format" in data:
        kwargs["log_format"] = field_value("log_format", _log_format)
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return dataclasses.replace(base, **kwargs)


# --- the environment: every variable is one setting, and wins over the config file ---------------------
# (flags > environment > config file > defaults file > built-in defaults; see cli.py and README.md)

def _log_format(value: Any) -> str:
    if value not in ("text", "json"):
        raise ValueError(f"log_format must be text or json, got {value!r}")
    return str(value)


def parse_public_hosts(text: str) -> tuple[PublicHost, ...]:
    """'a11y.example.gov.cn, big5.example.gov.cn=trad-hk': names separated by commas or spaces, each with
    optional '=modes' (modes joined by '+'), as $A11Y_PROXY_PUBLIC_HOSTS and --public-hosts give them."""
    hosts = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        name, _, modes_text = item.partition("=")
        host = _host_name(name)
        if not host:
            raise ValueError(f"not a host name: {name!r} (a name, IPv4 address or [IPv6] address, optionally "
                             "with :port)")
        try:
            host_modes = modes_mod.parse(modes_text)
        except modes_mod.UnknownMode as exc:
            raise ValueError(f"{exc}; valid modes: {', '.join(modes_mod.all_tokens())}") from None
        hosts.append(PublicHost(host, host_modes))
    return tuple(hosts)


def parse_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in re.split(r"[,\s]+", text.strip()) if n)


def parse_workers(text: str) -> int:
    try:
        return _workers(int(text))
    except ValueError:
        raise ValueError(f"workers must be a whole number from 0 (one per core) to 256, got {text!r}") from None


# variable -> (the setting(s) it sets, parser)
ENVIRONMENT = {
    "A11Y_PROXY_UPSTREAM": ("upstream", parse_upstream),
    "A11Y_PROXY_LISTEN": (("listen_host", "listen_port"), parse_listen),
    "A11Y_PROXY_RULES": ("rules_dir", lambda text: Path(text).resolve()),
    "A11Y_PROXY_WORKERS": ("workers", parse_workers),
    "A11Y_PROXY_PUBLIC_HOSTS": ("public_hosts", parse_public_hosts),
    "A11Y_PROXY_TRUSTED_PROXIES": ("trusted_proxies", parse_networks),
    "A11Y_PROXY_LOG_FORMAT": ("log_format", _log_format),
}


def overrides_from_env(environ=None, names=None) -> dict[str, Any]:
    """Settings given by A11Y_PROXY_* variables (empty ones are unset).  ValueError names the variable."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for variable, (fields, parse) in ENVIRONMENT.items():
        value = environ.get(variable, "").strip()
        if not value or (names is not None and variable not in names):
            continue
        try:
            parsed = parse(value)
        except ValueError as exc:
            raise ValueError(f"${variable}: {exc}") from None
        if isinstance(fields, tuple):
            out.update(zip(fields, parsed))
        else:
            out[fields] = parsed
    return out


def _workers(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 256:
        raise ValueError("workers must be a whole number from 0 (one per core) to 256")
    return value


def _string_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ValueError("expected a list of strings")
    return tuple(str(v) for v in value)


def _positive(doc: Located, path: tuple, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise doc.error(path, f"{path[-1]} must be a positive number of seconds")
    return float(value)


def _public_hosts(doc: Located, value: Any) -> tuple[PublicHost, ...]:
    if not isinstance(value, list):
        raise doc.error(("public_hosts",), "public_hosts must be a list")
    hosts = []
    for i, entry in enumerate(value):
        if isinstance(entry, str):
            hosts.append(PublicHost(_public_host_name(doc, ("public_hosts", i), entry)))
            continue
        raw = expect_mapping(doc, ("public_hosts", i), entry, {"host", "modes"}, "a public host")
        if "host" not in raw:
            raise doc.error(("public_hosts", i), "a public host needs 'host'")
        try:
            host_modes = modes_mod.parse(str(raw.get("modes", "")).replace(",", "+")) if not isinstance(
                raw.get("modes"), list) else modes_mod.parse("+".join(map(str, raw["modes"])))
        except modes_mod.UnknownMode as exc:
            raise doc.error(("public_hosts", i, "modes"),
                            f"{exc}; valid modes: {', '.join(modes_mod.all_tokens())}") from None
        hosts.append(PublicHost(_public_host_name(doc, ("public_hosts", i, "host"), str(raw["host"])), host_modes))
    return tuple(hosts)


def _public_host_name(doc: Located, path: tuple, text: str) -> str:
    name = _host_name(text)
    if not name:
        raise doc.error(path, f"not a host name: {text!r} (a name, IPv4 address or [IPv6] address, "
                              "optionally with :port)")
    return name


__all__ = ["Settings", "Timeouts", "Limits", "Toolbar", "PublicHost", "load_settings", "settings_from",
           "parse_size", "parse_listen", "parse_upstream", "parse_public_hosts", "overrides_from_env", "ENVIRONMENT",
           "SourceError"]
