"""`python -m kaizala_sandbox --host 127.0.0.1 --port 8700 [--state FILE] [--quiet]`.

The first line printed is `Kaizala sandbox listening on <base URL>` (tests parse it), then
the demo connector's id and secret.
"""

import argparse
import os
import signal
import sys

from .app import SandboxApp
from .control import is_loopback
from .limits import RateLimiter
from .server import make_server
from .state import Persister, Store
from .webhooks import Deliverer


def loopback_host(value: str) -> str:
    # The control API hands out secrets: the sandbox is for this machine only.
    if not is_loopback(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a loopback address; the sandbox listens on this "
                                         "machine only (e.g. 127.0.0.1 or localhost)")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kaizala_sandbox", description="Local Kaizala API emulator")
    parser.add_argument("--host", default="127.0.0.1", type=loopback_host,
                        help="a loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8700, help="0 picks a free port")
    parser.add_argument("--state", metavar="FILE", help="keep state in this JSON file across restarts")
    parser.add_argument("--rate-limit", choices=("on", "off"), default="on",
                        help="100 calls/window per connector, 300 per tenant (default on)")
    parser.add_argument("--rate-window", type=float, default=60.0, metavar="SECONDS",
                        help="rate-limit window length (default 60)")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    parser.add_argument("--server", choices=("builtin", "gunicorn"),
                        default=os.environ.get("KAIZALA_SANDBOX_SERVER", "builtin"),
                        help="builtin: server.py (default); gunicorn: one gthread worker (gunicorn_server.py)")
    parser.add_argument("--threads", type=int, default=32, help="gunicorn's threads (with --server gunicorn)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    store = Store()
    if args.state and os.path.exists(args.state):
        store.load(args.state)
    demo = store.ensure_demo_connector()
    if args.server == "gunicorn":
        return serve_with_gunicorn(args, store, demo)
    deliverer = Deliverer(store)
    deliverer.start()
    app = SandboxApp(store, RateLimiter(args.rate_limit == "on", args.rate_window), deliverer, quiet=args.quiet)
    server = make_server(args.host, args.port, app, args.quiet)
    announce(*server.server_address[:2], demo)
    if args.state:
        store.save(args.state)
        Persister(store, args.state).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if args.state:
            store.save(args.state)


def announce(host: str, port: int, demo: dict) -> None:
    base = f"http://{host}:{port}"
    print(f"Kaizala sandbox listening on {base}", flush=True)
    print(f"Demo connector applicationId: {demo['applicationId']}", flush=True)
    print(f"Demo connector applicationSecret: {demo['applicationSecret']}", flush=True)
    print(f"Control page: {base}/_sandbox/", flush=True)


def serve_with_gunicorn(args, store: Store, demo: dict) -> None:
    from .gunicorn_server import serve

    if args.state:
        store.save(args.state)

    def build():  # in the worker: the threads start there
        deliverer = Deliverer(store)
        deliverer.start()
        if args.state:
            Persister(store, args.state).start()
        return SandboxApp(store, RateLimiter(args.rate_limit == "on", args.rate_window), deliverer, quiet=args.quiet)

    def on_exit():
        if args.state:
            store.save(args.state)

    serve(host=args.host, port=args.port, threads=args.threads, quiet=args.quiet, build=build,
          on_ready=lambda host, port: announce(host, port, demo), on_exit=on_exit)


if __name__ == "__main__":
    main()
