"""Server settings: where it listens, who may call it, and the limits every request meets.

The one rule that is not a default: a server reachable from other machines (any host but
loopback) must have an API key. `check()` refuses such settings with one line, before
anything binds.
"""

from __future__ import annotations

import ipaddress
import os

from pydantic import BaseModel, ConfigDict, Field

from openpick.errors import InvalidInput

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}
# Host headers a loopback server without a key answers (DNS-rebinding guard). "testserver" is
# the name Starlette's TestClient sends; it is a single label, never a public DNS name.
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1", "[::1]", "testserver"]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    api_key: str | None = Field(None, repr=False)
    api_key_env: str = "OPENPICK_API_KEY"
    cors_origins: list[str] = Field(default_factory=list, description="off unless listed")
    # Extra names the server offers, name -> spec, set by whoever starts the server (CLI or
    # code), never by a request. openpick.toml models and the embedded ones are always offered.
    models: dict[str, str] = Field(default_factory=dict)
    memory_budget: int | None = Field(None, ge=0, description="bytes; default half the RAM")

    # Limits.
    max_body_bytes: int = Field(1 << 20, ge=1024)
    max_tokens_cap: int = Field(4096, ge=1)
    default_max_tokens: int = Field(512, ge=1)
    max_messages: int = Field(256, ge=1)
    max_message_chars: int = Field(100_000, ge=1)
    max_stop: int = Field(4, ge=0)
    max_concurrent: int = Field(128, ge=1, description="requests generating at once; more → 429")
    shutdown_grace_s: float = Field(10.0, ge=0, description="streams get this long at shutdown")
    allowed_hosts: list[str] | None = Field(
        None, description="Host headers accepted; default: loopback names when bound to "
                          "loopback without a key, any otherwise")

    @classmethod
    def from_env(cls, api_key_env: str = "OPENPICK_API_KEY", **kw) -> Settings:
        key = os.environ.get(api_key_env) or None
        return cls(api_key=key, api_key_env=api_key_env, **kw)

    def is_loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        """Refuse settings that would expose an unauthenticated server."""
        if not self.is_loopback() and not self.api_key:
            raise InvalidInput(
                f"refusing to bind {self.host}: a server reachable from other machines needs an "
                f"API key; set {self.api_key_env} (or bind 127.0.0.1)")

    def hosts(self) -> list[str]:
        if self.allowed_hosts is not None:
            return self.allowed_hosts
        if self.is_loopback() and not self.api_key:
            return LOOPBACK_HOSTS
        return ["*"]


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere
