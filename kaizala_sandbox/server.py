"""Serving: a threaded HTTP/1.1 server that keeps connections alive, on the standard library's http.server.

Kaizala clients pool their connections, and the console's benchmarks compare pooled against
unpooled clients, so the sandbox must keep a connection open between requests as the real service
did. Werkzeug's development server closes every connection, hence this small WSGI gateway: it reads
each request body by its Content-Length (so the next request on the connection starts cleanly) and
answers with a Content-Length. The app can drop a connection through `environ[SOCKET_KEY]`, and
reads the request target exactly as it came on the wire in `environ[RAW_URI_KEY]` (PATH_INFO is
percent-decoded, so `@` and `%40` look the same there).
"""

from __future__ import annotations

import io
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_to_bytes

SOCKET_KEY = "kaizala_sandbox.socket"
RAW_URI_KEY = "RAW_URI"  # the name gunicorn gives it
# Request headers WSGI carries without the HTTP_ prefix.
_UNPREFIXED = {"CONTENT_TYPE", "CONTENT_LENGTH"}


class WSGIRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "KaizalaSandbox/1.0"
    timeout = 120  # an idle keep-alive connection frees its thread after this long
    # Headers and body leave in one write (flushed at the end), with Nagle off: on a kept-alive
    # connection two small writes would otherwise wait for the client's delayed ACK (~40 ms).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    quiet = False

    def do_request(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send_error(411, "Send a Content-Length")
            self.close_connection = True
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        environ = self._environ(body)
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = status, headers
            return lambda data: None  # the sandbox never uses write()

        result = self.server.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        code, _, reason = started["status"].partition(" ")
        head = self.command == "HEAD"
        # A HEAD answer has no body, but says how long the GET's body would be (the app computed
        # it; the app's iterable is empty for HEAD), so the client knows not to read one.
        length = next((v for n, v in started["headers"] if n.lower() == "content-length"), None)
        if not head or length is None:
            length = str(len(payload))
        try:
            self.send_response(int(code), reason)
            for name, value in started["headers"]:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", length)
            self.end_headers()
            if not head:
                self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            # The app dropped the connection on purpose (a fault), or the client went away.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_request

    def _environ(self, body: bytes) -> dict:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            # PEP 3333: the percent-decoded path as latin-1, so the app can recover the exact bytes.
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            RAW_URI_KEY: self.path,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            SOCKET_KEY: self.connection,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key in _UNPREFIXED:
                continue
            key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


class QuietRequestHandler(WSGIRequestHandler):
    quiet = True


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address, app, handler):
        self.app = app
        super().__init__(address, handler)


def make_server(host: str, port: int, app, quiet: bool) -> SandboxServer:
    return SandboxServer((host, port), app, QuietRequestHandler if quiet else WSGIRequestHandler)
