"""`timebank serve-all`: one command runs the API, the RQ workers and the cron scheduler, and stops them all.

With the embedded default it also owns the embedded Redis server, so every child shares one, and shuts it
down on the way out. Each child runs in a process group of its own: Ctrl-C reaches only this supervisor,
which stops every group (gunicorn's workers included) before it exits, so nothing keeps the port or the
socket. A port already taken, or an API that keeps dying at start, ends the command with an error instead of
a restart loop that looks healthy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from timebank import config
from timebank.config import EMBEDDED

STOP_GRACE_SECONDS = 10
FAST_EXIT_SECONDS = 5  # a child that dies this soon after its start counts towards a crash loop
MAX_FAST_EXITS = 3


class ServeError(RuntimeError):
    """serve-all cannot run: the message says why, for the person at the terminal."""


def _env() -> tuple[dict, bool]:
    env = dict(os.environ)
    if env.get("TIMEBANK_REDIS_URL", EMBEDDED) != EMBEDDED:
        return env, False
    from timebank.redis_conn import embedded_socket

    instance = config.instance_path() or os.path.join(os.getcwd(), "instance")
    os.makedirs(instance, exist_ok=True)
    rdb = config.from_environment(instance)["REDIS_EMBEDDED_PATH"]
    env["TIMEBANK_REDIS_URL"] = f"unix://{embedded_socket(rdb)}"
    return env, True


def lan_address() -> str:
    """This machine's address on its network (the interface that routes outwards; nothing is sent), or
    127.0.0.1 when there is no network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def served_url(host: str, port: int) -> str:
    """The address people can open for what `serve-all` binds: all interfaces read as the LAN address."""
    shown = lan_address() if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def public_url(env: dict, host: str, port: int) -> str:
    """What serve-all prints and its children build links from: TIMEBANK_PUBLIC_BASE_URL when set."""
    return config.public_base_url({"PUBLIC_BASE_URL": env.get("TIMEBANK_PUBLIC_BASE_URL"),
                                   "SERVED_URL": served_url(host, port)})


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # As gunicorn binds: connections of a stopped server lingering in TIME_WAIT do not hold the port.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ServeError(f"{host}:{port} is already in use ({exc.strerror}); stop whatever holds it, "
                             f"or choose another port (--port / PORT=...)") from exc


def _stop_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop_children(children: dict[str, subprocess.Popen]) -> None:
    """SIGTERM every child's process group, wait, then SIGKILL what is left (a stuck worker, a gunicorn child)."""
    for proc in children.values():
        _stop_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in children.values():
        _stop_group(proc, signal.SIGKILL)  # the group may outlive its leader: kill the rest too
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _specs(host: str, port: int, workers: int) -> dict[str, list[str]]:
    exe = os.path.join(os.path.dirname(sys.executable), "timebank")
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    specs = {
        "api": [gunicorn, "-c", "python:timebank.serving", "--bind", f"{host}:{port}", "--access-logfile", "-"],
        "scheduler": [exe, "scheduler"],
    }
    for n in range(workers):
        specs[f"worker-{n + 1}"] = [exe, "worker"]
    return specs


class _Children:
    """The running children, restarted when they exit; a crash loop at start is reported, not hidden."""

    def __init__(self, specs: dict[str, list[str]], env: dict):
        self.specs, self.env = specs, env
        self.procs: dict[str, subprocess.Popen] = {}
        self.started: dict[str, float] = {}
        self.fast_exits: dict[str, int] = dict.fromkeys(specs, 0)

    def spawn(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(self.specs[name], env=self.env, start_new_session=True)
        self.started[name] = time.monotonic()

    def check(self) -> str | None:
        """Restart whoever exited; a message when one keeps exiting at start."""
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            quick = time.monotonic() - self.started[name] < FAST_EXIT_SECONDS
            self.fast_exits[name] = self.fast_exits[name] + 1 if quick else 0
            if self.fast_exits[name] >= MAX_FAST_EXITS:
                return f"{name} keeps exiting at start (status {proc.returncode}); stopping everything"
            print(f"{name} exited with {proc.returncode}; restarting", flush=True)
            time.sleep(min(2 ** self.fast_exits[name] / 2, 5))
            self.spawn(name)
        return None


def run(host: str, port: int, workers: int) -> None:
    check_port_free(host, port)
    env, embedded = _env()
    env["TIMEBANK_SERVED_URL"] = served_url(host, port)  # links built outside a request (jobs) use it
    base = public_url(env, host, port)
    children = _Children(_specs(host, port, workers), env)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failure: str | None = None
    try:
        for name in children.specs:
            children.spawn(name)
        print(f"timebank      {base}/  (爱心银行: volunteer app /app, till /merchant, console /console, "
              f"employer portal /employer)", flush=True)
        print(f"timebank API  {base}/api/docs  (health: /healthz, ready: /readyz)", flush=True)
        while not stopping and failure is None:
            time.sleep(0.5)
            if not stopping:
                failure = children.check()
    finally:
        stop_children(children.procs)
        if embedded:
            from timebank.redis_conn import shutdown_embedded

            shutdown_embedded()
    if failure:
        raise ServeError(failure)
