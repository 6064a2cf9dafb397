"""How gunicorn serves timebank: one configuration every start uses (`serve-all`, the fault tests, the fuzzing
run, production: `gunicorn -c python:timebank.serving --bind HOST:PORT`), and a worker whose own refusals — a
request line or headers too large, a malformed request, sent before Flask ever sees it — are problem+json with a
stable code and a Chinese message like every other refusal, never the server's bare HTML page."""

from __future__ import annotations

import logging

from gunicorn.http import errors as http_errors
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker

from timebank.messages import problem_body

# gunicorn settings (module-level names are read by `-c python:timebank.serving`; the command line overrides).
wsgi_app = "timebank.wsgi:app"
workers = 2
threads = 4
worker_class = "timebank.serving.ApiWorker"
logger_class = "timebank.logs.AccessLogger"
graceful_timeout = 10

log = logging.getLogger("timebank.serving")

# The server's refusals before Flask: exception → status, stable code, English reason.
_REFUSALS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (http_errors.LimitRequestLine, 414, "request_line_too_long", "URI Too Long"),
    (http_errors.LimitRequestHeaders, 431, "request_headers_too_large", "Request Header Fields Too Large"),
    (http_errors.ConfigurationProblem, 500, "internal_error", "Internal Server Error"),
    (http_errors.ForbiddenProxyRequest, 403, "forbidden", "Forbidden"),
    (http_errors.UnsupportedTransferCoding, 501, "unsupported_transfer_coding", "Not Implemented"),
    (http_errors.ParseException, 400, "malformed_request", "Bad Request"),
)


def refusal_for(exc: BaseException) -> tuple[int, str, str]:
    """What the client is told when the server cannot take its request: a 4xx for what the client sent, else 500."""
    for kind, status, code, reason in _REFUSALS:
        if isinstance(exc, kind):
            return status, code, reason
    return 500, "internal_error", "Internal Server Error"


class ApiWorker(ThreadWorker):
    """gunicorn's threaded worker, answering its own refusals as problem+json."""

    def handle_error(self, req, client, addr, exc) -> None:
        status, code, reason = refusal_for(exc)
        if status == 500:
            self.log.exception("error handling request")
        else:
            # Only the class: the request line itself may carry a secret (a portal token) and is unbounded.
            self.log.warning("request refused by the server: %s", type(exc).__name__)
        body = problem_body(status, code, reason)
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
        try:
            write_nonblock(client, head + body)
        except OSError:
            self.log.debug("the client left before its refusal was sent")
