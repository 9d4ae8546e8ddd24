"""Every tunable of the proxy, with its default, in one place; loaded from a YAML config file.

The rest of the code only sees these typed objects, never raw YAML.
"""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import math
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
GiB = 1024 * MiB
DAY = 24 * 3600


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
    # WebSockets (a portal's live chat) hold an upstream connection for their whole life: their own pool, so that
    # idle sockets opened by anyone never take the connections pages need.  Past it, a new one is refused (502).
    websocket_connections: int = 256
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
    """A whole number of bytes, or a text with a unit ('8MiB', '1.5KiB'); a bare fraction of a byte, true or
    false are not sizes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a size: {value!r} (use e.g. 8MiB, 512KiB or a whole number of bytes)")
    size = float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    if not size.is_integer():
        raise ValueError(f"not a whole number of bytes: {value!r}")
    return int(size)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()):
        raise ValueError(f"listen address must be HOST:PORT, got {text!r}")
    # Port 0 (any free port) is refused: each worker would get a port of its own, and none is the one logged.
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"listen port must be from 1 to 65535, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def parse_upstream(text: str) -> URL:
    """The portal's origin.  Everything of a URL beyond scheme, host and port is refused rather than dropped:
    the proxy maps the reader's path onto the upstream's root, so a path prefix, a query or credentials in the
    URL would silently not be used."""
    url = URL(text)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"upstream must be an http(s) URL with a host, got {text!r}")
    if url.user is not None or url.password is not None:
        # (the password is not repeated: this line goes to logs)
        raise ValueError(f"upstream must not contain a user name or password, got {str(url.with_user(None))!r} "
                         "with credentials")
    if url.raw_path not in ("", "/"):
        raise ValueError(f"upstream must be an origin such as https://www.example.gov.cn: a path "
                         f"({url.raw_path!r}) is not supported, got {text!r}")
    if url.raw_query_string or url.raw_fragment or "?" in text or "#" in text:
        raise ValueError(f"upstream must be an origin such as https://www.example.gov.cn: a query or fragment "
                         f"is not supported, got {text!r}")
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
        kwargs["upstream_aliases"] = _aliases(doc, data["upstream_aliases"])
    if "listen" in data:
        kwargs["listen_host"], kwargs["listen_port"] = field_value("listen", lambda v: parse_listen(str(v)))
    if "public_hosts" in data:
        kwargs["public_hosts"] = _public_hosts(doc, data["public_hosts"])
    if "trusted_proxies" in data:
        kwargs["trusted_proxies"] = field_value(
            "trusted_proxies", lambda v: tuple(ipaddress.ip_network(str(n), strict=False) for n in _string_list(v)))
    if "rules" in data:
        kwargs["rules_dir"] = field_value("rules", lambda v: (base_dir / _folder(v)).resolve())
    if "rules_reload_seconds" in data:
        kwargs["rules_reload_seconds"] = field_value("rules_reload_seconds", _reload_seconds)
    if "timeouts" in data:
        raw = expect_mapping(doc, ("timeouts",), data["timeouts"], set(Timeouts.__dataclass_fields__), "timeouts")
        kwargs["timeouts"] = dataclasses.replace(
            base.timeouts, **{k: _in_range(doc, ("timeouts", k), v, TIMEOUT_RANGE) for k, v in raw.items()})
    if "limits" in data:
        raw = expect_mapping(doc, ("limits",), data["limits"], set(LIMIT_RANGES), "limits")
        kwargs["limits"] = dataclasses.replace(
            base.limits, **{k: _in_range(doc, ("limits", k), v, LIMIT_RANGES[k]) for k, v in raw.items()})
    if "toolbar" in data:
        raw = expect_mapping(doc, ("toolbar",), data["toolbar"], {"enabled", "position"}, "toolbar")
        if raw.get("position", "top") not in ("top", "bottom"):
            raise doc.error(("toolbar", "position"), "toolbar position must be 'top' or 'bottom'")
        if "enabled" in raw:
            _boolean(doc, ("toolbar", "enabled"), raw["enabled"])
        kwargs["toolbar"] = dataclasses.replace(base.toolbar, **raw)
    if "trad_variant" in data:
        variant = str(data["trad_variant"])
        if variant not in {v for v in modes_mod.TRAD_VARIANTS.values() if v}:
            raise doc.error(("trad_variant",), f"trad_variant must be one of s2t, s2tw, s2twp, s2hk, got {variant!r}")
        kwargs["trad_variant"] = variant
    if "cookie" in data:
        raw = expect_mapping(doc, ("cookie",), data["cookie"], {"name", "max_age"}, "cookie")
        if "name" in raw:
            if not isinstance(raw["name"], str) or not _COOKIE_NAME.fullmatch(raw["name"]):
                raise doc.error(("cookie", "name"), f"cookie name must be letters, digits and !#$%&'*+-.^_`|~ "
                                                    f"(no spaces, ';', ',' or '='), got {raw['name']!r}")
            kwargs["cookie_name"] = raw["name"]
        if "max_age" in raw:
            kwargs["cookie_max_age"] = _in_range(doc, ("cookie", "max_age"), raw["max_age"], COOKIE_MAX_AGE_RANGE)
    if "access_log" in data:
        kwargs["access_log"] = _boolean(doc, ("access_log",), data["access_log"])
    if "workers" in data:
        kwargs["workers"] = field_value("workers", _workers)
    if "cache" in data:
        raw = expect_mapping(doc, ("cache",), data["cache"], {"max_bytes"}, "cache")
        if "max_bytes" in raw:
            kwargs["cache_max_bytes"] = _in_range(doc, ("cache", "max_bytes"), raw["max_bytes"], CACHE_RANGE)
    if "debug_view" in data:
        kwargs["debug_view"] = _boolean(doc, ("debug_view",), data["debug_view"])
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


@dataclass(frozen=True)
class Range:
    """What a numeric setting accepts in a config file: a size (a whole number of bytes, or with a unit such
    as 8MiB), a count (a whole number) or seconds (any finite number), from `low` to `high`."""

    kind: str  # "size" | "count" | "seconds"
    low: float
    high: float
    exclusive_low: bool = False  # seconds: more than `low`, never `low` itself

    def describe(self) -> str:
        show = _size_text if self.kind == "size" else (lambda n: f"{n:g}" if n % 1 else str(int(n)))
        what = {"size": "a size (bytes, or e.g. 8MiB)", "count": "a whole number",
                "seconds": "a number of seconds"}[self.kind]
        if self.exclusive_low:
            return f"{what} above {show(self.low)}, at most {show(self.high)}"
        return f"{what} from {show(self.low)} to {show(self.high)}"

    def check(self, value: Any) -> int | float:
        """The value, or ValueError.  true/false are not numbers (YAML would make them 1 and 0)."""
        if self.kind == "size":
            number = parse_size(value)
        elif isinstance(value, bool) or not isinstance(value, int if self.kind == "count" else (int, float)):
            raise ValueError(f"not {'a whole number' if self.kind == 'count' else 'a number'}: {value!r}")
        else:
            number = value
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"not a finite number: {value!r}")
        if not (self.low < number if self.exclusive_low else self.low <= number) or number > self.high:
            raise ValueError(f"out of range: {value!r}")
        return float(number) if self.kind == "seconds" else number


def _size_text(n: float) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{int(n // size)}{unit}"
    return f"{int(n)}"


KiB = 1024
# Every limit, with what a config file may set it to.  Each is bounded below where a smaller value breaks
# requests (0 connections, 0 bytes of headers) and above where a larger one can only be a typo.
LIMIT_RANGES: dict[str, Range] = {
    "html_max_bytes": Range("size", KiB, GiB),
    "css_max_bytes": Range("size", KiB, GiB),
    "json_max_bytes": Range("size", KiB, GiB),
    "search_body_max_bytes": Range("size", KiB, GiB),
    "upstream_connections": Range("count", 1, 65535),  # (aiohttp reads 0 as no limit at all)
    "websocket_connections": Range("count", 1, 65535),
    "request_buffer_bytes": Range("size", 0, GiB),  # 0: every request body streams
    "response_buffer_bytes": Range("size", 0, GiB),
    # aiohttp already refuses more than 100 header lines of 8 KiB: past 1 MiB this limit could never apply.
    "request_headers_bytes": Range("size", KiB, MiB),
    "transform_memory_bytes": Range("size", MiB, 1024 * GiB),
    "compress_min_bytes": Range("size", 0, GiB),
    "convert_body_max_bytes": Range("size", KiB, GiB),
    "convert_max_texts": Range("count", 1, 1_000_000),
}
TIMEOUT_RANGE = Range("seconds", 0, DAY, exclusive_low=True)
CACHE_RANGE = Range("size", 0, 1024 * GiB)  # 0: no transform cache
COOKIE_MAX_AGE_RANGE = Range("count", 1, 400 * DAY)  # browsers keep a cookie 400 days at most
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 6265 token


def _in_range(doc: Located, path: tuple, value: Any, allowed: Range) -> int | float:
    try:
        return allowed.check(value)
    except ValueError:
        raise doc.error(path, f"{'.'.join(map(str, path))} must be {allowed.describe()}, got {value!r}") from None


def _boolean(doc: Located, path: tuple, value: Any) -> bool:
    # Only YAML's own true/false: bool("false") is True, so a quoted value would silently mean the opposite.
    if not isinstance(value, bool):
        raise doc.error(path, f"{'.'.join(map(str, path))} must be true or false (unquoted), got {value!r}")
    return value


def _reload_seconds(value: Any) -> float:
    if not isinstance(value, bool) and isinstance(value, (int, float)) and (
            value == 0 or (math.isfinite(value) and 0.1 <= value <= DAY)):
        return float(value)
    raise ValueError(f"rules_reload_seconds must be 0 (never reload) or a number of seconds from 0.1 to {DAY}, "
                     f"got {value!r}")


def _folder(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"rules must name a folder (relative to this file), got {value!r}")
    return value


def _aliases(doc: Located, value: Any) -> tuple[str, ...]:
    """host[:port] entries, as absolute links name the upstream: a URL or a path could never match one."""
    if not isinstance(value, list):
        value = [value]
    aliases = []
    for i, entry in enumerate(value):
        authority = Authority.parse(entry) if isinstance(entry, str) else None
        if authority is None:
            raise doc.error(("upstream_aliases", i), f"upstream alias must be host or host:port such as "
                                                     f"example.gov.cn or www.example.gov.cn:443 (no scheme or "
                                                     f"path), got {entry!r}")
        aliases.append(str(authority))
    return tuple(aliases)


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
