"""Run localstripe (a fake, stateful Stripe API for tests and the demo) bound to 127.0.0.1, without persistence.

localstripe is GPL and never imported by the application: this script runs it as a separate process.
Usage: python devtools/localstripe_server.py [--port N] [--secret-key sk_test_… --publishable-key pk_test_…]
(port 0 picks a free one; the port is printed). The keys, if given, are those of the default account, made before
the port is announced; more accounts are made with `POST /_config/accounts` (see devtools/stripe_double/).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from aiohttp import web
from localstripe import resources, server

sys.path.insert(0, str(Path(__file__).parent))
from stripe_double import (  # found through the line above
    accounts,
    auth,
    billing_portal,
    invoicing,
    tokens,
    webhook_endpoints,
)


@web.middleware
async def block_scoped_stripe_js(request: web.Request, handler: Any) -> web.StreamResponse:
    """localstripe's fake Stripe.js declares `class Element` at the top level of a classic script, which shadows
    the DOM's `Element` for every script on the page (htmx's `instanceof Element` checks then fail after it
    loads). Served inside a block, the class stays local; `Stripe` is still assigned globally as before.

    It also lacks Stripe.js's `handleNextAction` (the 3-D Secure step of a server-confirmed payment); its
    `confirmCardPayment` performs that same step, so the shim below names it the way Stripe.js does and the
    portal's script speaks only real Stripe.js."""
    response = await handler(request)
    if request.path == "/js.stripe.com/v3/" and isinstance(response, web.Response) and response.text:
        return web.Response(
            text="{\n" + response.text + "\n}\n" + _HANDLE_NEXT_ACTION, content_type="application/javascript"
        )
    return response


_HANDLE_NEXT_ACTION = """
(function (makeStripe) {
  window.Stripe = function (key, options) {
    var stripe = makeStripe(key, options);
    if (!stripe.handleNextAction) {
      stripe.handleNextAction = function (params) { return stripe.confirmCardPayment(params.clientSecret); };
    }
    return stripe;
  };
})(window.Stripe);
"""


def _exit_when_stdin_closes() -> None:
    sys.stdin.read()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret-key", help="the default account's secret key (sk_test_… or sk_live_…)")
    parser.add_argument("--publishable-key", help="the default account's publishable key (pk_…)")
    parser.add_argument("--account-name", default="Local test account", help="the default account's business name")
    args = parser.parse_args()
    # Our parent holds the other end of stdin: when it goes away, by any signal, so do we.
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    # By default it pickles its whole store into /tmp after every write and reloads it at start.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    server.app.middlewares.append(block_scoped_stripe_js)
    auth.install(server.app)  # every /v1 request runs as the account of its key, in that account's store
    accounts.install(server.app)
    webhook_endpoints.install(server.app)
    billing_portal.install(server.app)
    tokens.install(server.app)
    invoicing.install(server.app)
    if args.secret_key or args.publishable_key:  # before the port is announced: the first request finds it
        accounts.registry.create(
            args.account_name,
            livemode=(args.secret_key or "").startswith("sk_live_"),
            secret_key=args.secret_key,
            publishable_key=args.publishable_key,
        )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)  # before the port is announced, so the first request cannot be refused
    print(f"localstripe listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    main()
