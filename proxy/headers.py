"""Header handling for both directions: hop-by-hop removal, forwarding headers, cookies, ETags, Vary."""
from __future__ import annotations

import functools
import hashlib
import ipaddress

from multidict import CIMultiDict, CIMultiDictProxy

from .urls import UpstreamLinks

# RFC 9110 section 7.6.1, plus the proxy-only ones.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection",
    "proxy-authenticate", "proxy-authorization",
})
VIA = "1.1 a11y-proxy"
# What a front (load balancer, CDN) tells the server behind it about the client and the URL it used.  From
# anyone else they are forgeries (a client address, 'https', another host or path prefix for the portal's own
# links), so they reach the upstream only from trusted_proxies, as sent.  X-Forwarded-For is extended and
# X-Forwarded-Proto/-Host replaced below in any case.
FORWARDING = frozenset({
    "forwarded", "x-real-ip", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-server",
    "x-forwarded-prefix", "x-forwarded-scheme", "x-forwarded-ssl", "front-end-https", "x-url-scheme",
    "x-original-host", "x-host", "x-client-ip", "true-client-ip", "cf-connecting-ip", "x-cluster-client-ip",
})
# Override the request path on IIS (URL Rewrite) and frameworks that honour them (Symfony, Zend): a path the
# proxy never saw, around any rule keyed on the path.  Nobody may send them, trusted or not.
PATH_OVERRIDES = frozenset({"x-original-url", "x-rewrite-url"})


# What never goes to the upstream from anyone: hop-by-hop fields and path overrides; from a peer that is not a
# trusted front, the forwarding fields too.  One set per case, so each header is looked up once.
_NOT_FORWARDED_TRUSTED = HOP_BY_HOP | PATH_OVERRIDES
_NOT_FORWARDED = HOP_BY_HOP | PATH_OVERRIDES | FORWARDING


def strip_hop_by_hop(headers: CIMultiDictProxy | CIMultiDict, drop: frozenset[str] = HOP_BY_HOP) -> CIMultiDict:
    """A copy without the hop-by-hop fields, those the Connection field names, any Proxy-* field, and the
    (lower-case) names in `drop`."""
    if "Connection" in headers:
        drop = drop | {token.strip().lower() for value in headers.getall("Connection") for token in value.split(",")}
    out = CIMultiDict()
    for key, value in headers.items():
        lower = key.lower()
        if lower in drop or lower.startswith("proxy-"):
            continue
        out.add(key, value)
    return out


def upstream_request_headers(incoming: CIMultiDictProxy, *, peer: str | None, trusted_peer: bool,
                             public_scheme: str, public_host: str, upstream_host: str,
                             accept_encoding: str, cookie_name: str, request_id: str | None = None) -> CIMultiDict:
    """Headers for the upstream request: hop-by-hop removed, Host set, X-Forwarded-* and Via added, and
    X-Request-ID set to this request's id (proxy/logs.py: a trusted front's, else ours; never a client's).

    `public_host` is the validated Host (urls.Authority).  No `Forwarded:` (RFC 7239) of our own is added,
    as nginx and Apache add none by default: portals read X-Forwarded-*, and one that prefers Forwarded
    would then see only what a trusted front sent, or nothing, never a client's forgery.
    """
    headers = strip_hop_by_hop(incoming, _NOT_FORWARDED_TRUSTED if trusted_peer else _NOT_FORWARDED)
    headers["Host"] = upstream_host
    headers["Accept-Encoding"] = accept_encoding
    # Only a trusted front (load balancer) may tell us who the client was; anyone else could forge it.
    earlier = incoming.get("X-Forwarded-For") if trusted_peer else None
    if peer:
        headers["X-Forwarded-For"] = f"{earlier}, {peer}" if earlier else peer
    elif "X-Forwarded-For" in headers and not trusted_peer:
        del headers["X-Forwarded-For"]
    headers["X-Forwarded-Proto"] = public_scheme
    headers["X-Forwarded-Host"] = public_host
    headers["Via"] = f"{incoming['Via']}, {VIA}" if "Via" in incoming else VIA
    headers.popall("X-Request-ID", None)
    if request_id:
        headers["X-Request-ID"] = request_id
    _drop_own_cookie(headers, cookie_name)
    return headers


def _drop_own_cookie(headers: CIMultiDict, cookie_name: str) -> None:
    """The mode cookie is ours; the upstream never sees it."""
    cookies = headers.getall("Cookie", [])
    if not cookies:
        return
    del headers["Cookie"]
    kept = [part.strip() for value in cookies for part in value.split(";")
            if part.strip() and part.strip().split("=", 1)[0].strip() != cookie_name]
    if kept:
        headers["Cookie"] = "; ".join(kept)


def rewrite_set_cookie(value: str, *, public_host: str, public_scheme: str) -> str:
    """Make an upstream cookie work on the proxy's public host.

    Domain= becomes the public host (dropped for IP addresses and single-label names, where browsers
    want host-only cookies).  Path= becomes '/', since the same upstream path is also reached under
    each mode prefix.  Secure is dropped when readers reach us over plain HTTP (and SameSite=None,
    which requires Secure, softened to Lax), or the browser would discard the cookie and logins break.
    """
    name_value, *attributes = value.split(";")
    out = [name_value.strip()]
    host = public_host.split(":")[0] if not public_host.startswith("[") else public_host
    for attribute in attributes:
        key, _, attr_value = attribute.strip().partition("=")
        lower = key.strip().lower()
        if lower == "domain":
            if _host_only(host):
                continue
            out.append(f"Domain={host}")
        elif lower == "path":
            out.append("Path=/")
        elif lower == "secure" and public_scheme != "https":
            continue
        elif lower == "samesite" and attr_value.strip().lower() == "none" and public_scheme != "https":
            out.append("SameSite=Lax")
        elif attribute.strip():
            out.append(attribute.strip())
    return "; ".join(out)


def _host_only(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return "." not in host


def rewrite_response_headers(headers: CIMultiDict, *, links: UpstreamLinks, request_url, public_host: str,
                             public_scheme: str) -> None:
    """In place: Location, Content-Location, Refresh and Set-Cookie made to point at the proxy."""
    for name in ("Location", "Content-Location"):
        if name in headers:
            headers[name] = links.rewrite_location(headers[name], request_url)
    if "Refresh" in headers:
        headers["Refresh"] = links.rewrite_refresh(headers["Refresh"], request_url)
    cookies = headers.getall("Set-Cookie", [])
    if cookies:
        del headers["Set-Cookie"]
        for cookie in cookies:
            headers.add("Set-Cookie", rewrite_set_cookie(cookie, public_host=public_host, public_scheme=public_scheme))


# --- ETags: one representation per mode set ---------------------------------------------------------

@functools.lru_cache(maxsize=1024)  # asked on every request, for a few variants (modes x rules versions)
def etag_suffix(variant_key: str) -> str:
    """A short tag for 'this proxy build, these rules, these modes': part of every transformed ETag."""
    return "a11y-" + hashlib.sha1(variant_key.encode()).hexdigest()[:10]


def transformed_etag(upstream_etag: str | None, suffix: str) -> str | None:
    """Weak, distinct per variant: the same upstream entity transformed differently is a different one.

    The suffix also records whether the upstream's tag was weak ('.w'), so that revalidation can
    send the upstream back exactly the tag it issued.
    """
    if not upstream_etag:
        return None
    opaque = upstream_etag.strip()
    weak = opaque.startswith("W/")
    opaque = (opaque[2:] if weak else opaque).strip('"')
    return f'W/"{opaque}.{suffix}{".w" if weak else ""}"'


def upstream_if_none_match(value: str | None, suffix: str) -> str | None:
    """Turn our ETags back into the upstream's so it can answer 304; drop tags of other variants."""
    if not value:
        return None
    if value.strip() == "*":
        return "*"
    tags = []
    for tag in value.split(","):
        tag = tag.strip()
        weak = tag.startswith("W/")
        opaque = (tag[2:] if weak else tag).strip('"')
        marker = opaque.find(".a11y-")
        if marker >= 0:  # one of ours: valid only for this variant; restore the upstream's own tag
            ours = opaque[marker + 1:]
            opaque = opaque[:marker]
            if ours.removesuffix(".w") != suffix:
                continue
            weak = ours.endswith(".w")
        tags.append(f'{"W/" if weak else ""}"{opaque}"')
    return ", ".join(tags) or None


def add_vary(headers: CIMultiDict, *names: str) -> None:
    present = {v.strip().lower() for value in headers.getall("Vary", []) for v in value.split(",")}
    if "*" in present:
        return
    values = [v.strip() for value in headers.getall("Vary", []) for v in value.split(",") if v.strip()]
    values += [n for n in names if n.lower() not in present]
    if "Vary" in headers:
        del headers["Vary"]
    if values:
        headers["Vary"] = ", ".join(values)
