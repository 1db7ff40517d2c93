"""Serving the sandbox with gunicorn's threaded worker (gthread), the alternative to server.py
(`python -m kaizala_sandbox --server gunicorn`, or KAIZALA_SANDBOX_SERVER=gunicorn).

One worker process only: the sandbox's state (the Store, the webhook deliverer, the persister) lives in
one process's memory. The store is built in gunicorn's master before the fork, so the worker inherits it;
the threads start in the worker (threads do not survive a fork). Idle keep-alive connections stay open as
long as with server.py. A dropped-connection fault shuts the socket gunicorn gives in `gunicorn.socket`.
"""

from __future__ import annotations

from collections.abc import Callable

from gunicorn.app.base import BaseApplication


class SandboxGunicorn(BaseApplication):
    def __init__(self, build: Callable, options: dict):
        self._build = build
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self):
        return self._build()


def serve(*, host: str, port: int, threads: int, quiet: bool, build: Callable, on_ready: Callable,
          on_exit: Callable) -> None:
    """Serve until SIGTERM/SIGINT. `build()` runs in the worker and returns the WSGI app; `on_ready(host,
    port)` runs in the master once it listens (port 0: the port it got); `on_exit()` in the worker as it ends."""

    def when_ready(server):
        bound_host, bound_port = server.LISTENERS[0].sock.getsockname()[:2]
        on_ready(bound_host, bound_port)

    SandboxGunicorn(build, {
        "bind": f"{host}:{port}", "workers": 1, "worker_class": "gthread", "threads": threads,
        "keepalive": 120, "worker_connections": 1000, "backlog": 1024, "graceful_timeout": 5,
        "accesslog": None if quiet else "-", "errorlog": "-", "loglevel": "warning",
        "when_ready": when_ready, "worker_exit": lambda server, worker: on_exit(),
    }).run()
