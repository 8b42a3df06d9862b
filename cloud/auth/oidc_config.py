"""Which OpenID Connect providers may sign people in (docs/login.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class OidcConfigError(ValueError):
    """A provider is configured in a way the backend cannot use."""


@dataclass(frozen=True, slots=True)
class OidcProviderConfig:
    name: str  # in URLs and the app's menu: google, kakao, company-sso
    issuer: str  # its discovery document is ISSUER/.well-known/openid-configuration
    client_id: str
    client_secret: str = field(default="", repr=False)

    @classmethod
    def parse(cls, text: str, env: Mapping[str, str]) -> OidcProviderConfig:
        """`NAME=ISSUER,CLIENT_ID`; the secret only from RETURNFEED_OIDC_<NAME>_SECRET."""
        name, eq, rest = text.partition("=")
        issuer, comma, client_id = rest.rpartition(",")
        if not eq or not comma or not NAME.fullmatch(name) or not client_id:
            raise OidcConfigError(
                f"OIDC provider {text!r} is not NAME=ISSUER_URL,CLIENT_ID with NAME "
                "lower-case letters, digits and -, e.g. google=https://accounts.google.com,ID"
            )
        secret_var = secret_variable(name)
        secret = env.get(secret_var, "")
        if not secret:
            raise OidcConfigError(f"OIDC provider {name!r} needs its client secret in {secret_var}")
        provider = cls(name, issuer, client_id, secret)
        provider.check()
        return provider

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def check(self) -> None:
        parts = urlsplit(self.issuer)
        loopback = parts.hostname in LOOPBACK_HOSTS
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise OidcConfigError(
                f"OIDC issuer {self.issuer!r} must be https:// (http:// only on loopback)"
            )
        if parts.query or parts.fragment:
            raise OidcConfigError(f"OIDC issuer {self.issuer!r} has a query or fragment")


def secret_variable(name: str) -> str:
    return f"RETURNFEED_OIDC_{name.upper().replace('-', '_')}_SECRET"
