"""Run localstripe (a fake, stateful Stripe API for tests and the demo) bound to 127.0.0.1, without persistence.

localstripe is GPL and never imported by the application: this script runs it as a separate process.
Usage: python devtools/localstripe_server.py [--port N]   (port 0 picks a free one; the port is printed)
"""

from __future__ import annotations

import argparse
import logging
import socket

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # By default it pickles its whole store into /tmp after every write and reloads it at start.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)  # before the port is announced, so the first request cannot be refused
    print(f"localstripe listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    main()
