"""The bundled demo portal: a small offline upstream site modelled on Chinese government portals.

`a11y-proxy demo` starts it on loopback (see `portal.start_portal`) and puts the proxy in front of it,
so the proxy can be tried without touching a real government site.
"""
