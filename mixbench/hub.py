"""The Hugging Face hub's reachability: is offline mode asked for, and does the hub answer?

A leaf module (standard library only; huggingface_hub is imported when asked), so that both the
model weights and the HF data sources can ask it without one depending on the other.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from urllib.parse import urlsplit

from mixbench.errors import brief_error

#: How long the hub reachability probe waits: ample for a TCP connect that works, far below
#: huggingface_hub's retries (about 25 s) when there is no network.
HUB_PROBE_TIMEOUT_S = 2.0


def hub_offline_requested() -> bool:
    """``HF_HUB_OFFLINE``, as huggingface_hub read it at import or as the environment says now."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or env_flag("HF_HUB_OFFLINE")


def env_flag(name: str) -> bool:
    """Whether environment variable ``name`` is set true, as huggingface_hub spells true."""
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def hub_unreachable(endpoint: str, *, timeout: float = HUB_PROBE_TIMEOUT_S) -> str | None:
    """Why no TCP connection to ``endpoint`` (or the proxy configured for it) opens within
    ``timeout`` seconds; None when one does.

    A cheap stand-in for huggingface_hub's and datasets' own attempts, which retry for about
    25 s before giving up when there is no network.
    """
    host, port = _connect_target(endpoint)
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except OSError as err:
            outcome.append(f"{host}:{port}: {brief_error(err)}")

    # In a thread so that a hanging DNS lookup, which the socket timeout does not bound, is
    # bounded too (the daemon thread is left to finish on its own).
    worker = threading.Thread(target=connect, name="mixbench-hub-probe", daemon=True)
    worker.start()
    worker.join(timeout)
    return outcome[0] if outcome else f"{host}:{port}: no answer within {timeout:g} s"


def _connect_target(endpoint: str) -> tuple[str, int]:
    """(host, port) a request to ``endpoint`` connects to first: its proxy's, if one applies."""
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    host = parts.hostname or ""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and host and not urllib.request.proxy_bypass(host):
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:  # a malformed port: let the connection attempt fail on the default
        port = None
    return host, port or (80 if parts.scheme == "http" else 443)
