"""`timebank serve-all`: one command runs the API, the RQ workers and the cron scheduler.

With the embedded default it also owns the embedded Redis server, so every child shares one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from timebank.config import EMBEDDED


def _env() -> dict:
    env = dict(os.environ)
    if env.get("TIMEBANK_REDIS_URL", EMBEDDED) == EMBEDDED:
        from flask import Flask

        from timebank import config
        from timebank.redis_conn import embedded_socket

        app = Flask("timebank", instance_path=env.get("TIMEBANK_INSTANCE_PATH") or None,
                    instance_relative_config=True)
        os.makedirs(app.instance_path, exist_ok=True)
        rdb = config.from_environment(app.instance_path)["REDIS_EMBEDDED_PATH"]
        env["TIMEBANK_REDIS_URL"] = f"unix://{embedded_socket(rdb)}"
    return env


def run(host: str, port: int, workers: int) -> None:
    env = _env()
    exe = os.path.join(os.path.dirname(sys.executable), "timebank")
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    specs = {
        "api": [gunicorn, "--workers", "2", "--threads", "4", "--bind", f"{host}:{port}",
                "--access-logfile", "-", "timebank.wsgi:app"],
        "scheduler": [exe, "scheduler"],
    }
    for n in range(workers):
        specs[f"worker-{n + 1}"] = [exe, "worker"]
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, cmd in specs.items():
        children[name] = subprocess.Popen(cmd, env=env)
    print(f"timebank API  http://{host}:{port}/api/docs  (health: /healthz, ready: /readyz)", flush=True)
    while not stopping:
        time.sleep(1)
        for name, proc in list(children.items()):
            if proc.poll() is not None and not stopping:
                print(f"{name} exited with {proc.returncode}; restarting", flush=True)
                children[name] = subprocess.Popen(specs[name], env=env)
    for proc in children.values():
        proc.terminate()
    for proc in children.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
