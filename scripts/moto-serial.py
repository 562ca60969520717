"""moto's server, answering one request at a time.

DynamoDB runs each TransactWriteItems in isolation: transactions are serializable, so a
condition checked in one cannot be invalidated by another half-way through. moto checks and
applies the items of a transaction one after another, and undoes a failed one by restoring a
copy of the whole table, so two transactions that run at once in its threaded server can
interleave, and a rollback can even undo the other's committed writes. Serialising requests
gives back the isolation that the real service guarantees, which Outlay's read-set guards
rely on. Same arguments as `moto_server` (-H HOST -p PORT).

It also stops when its standard input closes, so that a test process that keeps one server
for all its tests (and cannot stop it on exit) leaves none behind.
"""

import argparse
import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialised(app):
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            # The whole body is produced under the lock, so nothing of the answer is computed
            # while another request runs.
            return list(app(environ, start_response))

    return handle


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    if not sys.stdin.isatty():
        threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        serialised(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
