"""a11y-proxy: an accessibility reverse proxy for government portals (Traditional script, elder mode,
screen-reader repairs), deployed in front of the portal."""

__version__ = "0.1.0"
