"""Serving: Werkzeug's threaded HTTP/1.1 server (keep-alive), with per-request logs optional."""

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler


class RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries a Content-Length
    quiet = False

    def log_request(self, code="-", size="-"):
        if not self.quiet:
            super().log_request(code, size)


class QuietRequestHandler(RequestHandler):
    quiet = True


def make_server(host: str, port: int, app, quiet: bool) -> ThreadedWSGIServer:
    handler = QuietRequestHandler if quiet else RequestHandler
    server = ThreadedWSGIServer(host, port, app, handler=handler)
    server.request_queue_size = 1024
    return server
