"""Ready-to-paste code for the console's Embed settings: the host page's HTML and JavaScript, and the server side
that signs the customer's identity with an expiry, in Python, Node, PHP, Ruby and Go. Each computes
hex(HMAC-SHA256(secret, email + "|" + expires)), exactly what web/embed/signing.py checks."""

from __future__ import annotations

_HTML = """<div id="billing"></div>
<script src="{origin}/static/js/embed.js"></script>
<script>
  InvoicePortal.mount(document.getElementById("billing"), {{
    portal: "{origin}",
    workspace: "{slug}",
    email: "CUSTOMER_EMAIL",    // from your server: the signed-in customer's address
    expires: "EXPIRES",         // from your server (Unix seconds)
    hash: "HASH",               // from your server (below)
    locale: "en",               // optional: else the browser's language
    onEvent: function (event) {{ console.log(event.type, event); }},
    debug: false
  }});
</script>"""

_SERVER = {
    "Python": """import hashlib, hmac, os, time

expires = str(int(time.time()) + 3600)  # valid for an hour
message = f"{email}|{expires}".encode()
hash = hmac.new(os.environ["EMBED_SECRET"].encode(), message, hashlib.sha256).hexdigest()""",
    "Node": """const crypto = require("crypto");

const expires = String(Math.floor(Date.now() / 1000) + 3600); // valid for an hour
const hash = crypto.createHmac("sha256", process.env.EMBED_SECRET)
  .update(`${email}|${expires}`)
  .digest("hex");""",
    "PHP": """<?php
$expires = (string) (time() + 3600); // valid for an hour
$hash = hash_hmac('sha256', $email . '|' . $expires, getenv('EMBED_SECRET'));""",
    "Ruby": """require "openssl"

expires = (Time.now.to_i + 3600).to_s # valid for an hour
hash = OpenSSL::HMAC.hexdigest("SHA256", ENV.fetch("EMBED_SECRET"), "#{email}|#{expires}")""",
    "Go": """import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"time"
)

expires := strconv.FormatInt(time.Now().Unix()+3600, 10) // valid for an hour
mac := hmac.New(sha256.New, []byte(os.Getenv("EMBED_SECRET")))
mac.Write([]byte(email + "|" + expires))
hash := hex.EncodeToString(mac.Sum(nil))""",
}


def host_snippet(origin: str, slug: str) -> str:
    return _HTML.format(origin=origin, slug=slug)


def server_snippets() -> dict[str, str]:
    return dict(_SERVER)
