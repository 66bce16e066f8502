"""A sample host app for the embed (`make demo` serves it on the port after the portal's, on `localhost`, another
site than the portal's 127.0.0.1, as a real host app would be): its server signs its signed-in customer's address
with the workspace's embed secret, and its page mounts the billing history with embed.js, listing the events the
frame sends. The browser test of the embed uses the same app."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme app: billing</title></head>
<body>
<h1>Acme app</h1>
<p>Signed in as {email}. Below, your billing history from the invoice portal, inside this app.</p>
<div id="billing"></div>
<h2>Events from the frame</h2>
<ol id="events"></ol>
<script src="{portal}/static/js/embed.js"></script>
<script>
  window.events = [];
  InvoicePortal.mount(document.getElementById("billing"), Object.assign({options}, {{
    onEvent: function (event) {{
      window.events.push(event);
      var item = document.createElement("li");
      item.textContent = event.type + (event.invoice ? " " + event.invoice : "");
      document.getElementById("events").appendChild(item);
    }}
  }}));
</script>
</body></html>"""


def host_app(portal: str, workspace: str, secret: str, email: str, *, valid_for: int = 600) -> Starlette:
    async def home(_: Any) -> HTMLResponse:
        expires = str(int(time.time()) + valid_for)
        digest = hmac.new(secret.encode(), f"{email}|{expires}".encode(), hashlib.sha256).hexdigest()
        options = {"portal": portal, "workspace": workspace, "email": email, "expires": expires, "hash": digest}
        page = _PAGE.format(email=html.escape(email), portal=html.escape(portal), options=json.dumps(options))
        return HTMLResponse(page)

    return Starlette(routes=[Route("/", home)])


def demo_embed_secret(secret_key: str) -> str:
    """The demo workspace's embed secret, the same on every start (derived from the demo's SECRET_KEY)."""
    return "es_demo_" + hmac.new(secret_key.encode(), b"demo embed secret", hashlib.sha256).hexdigest()[:32]
