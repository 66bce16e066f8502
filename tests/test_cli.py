"""The `invoice-portal` command as a user runs it: demo links on an embedded database, and a server that
stops its embedded PostgreSQL when it is terminated (Procfile runners send SIGTERM)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.sealed import TEST_SECRET_KEY
from web.settings import PROJECT_ROOT

CLI = [sys.executable, "-m", "web.cli"]
LABELS = [
    "open", "partial", "paid", "void", "jpy", "kwd", "long", "xrechnung", "reverse-charge", "export", "expired",
    "revoked",
]  # fmt: skip


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(DATA_DIR=str(data_dir), PORT=str(port), HOST="127.0.0.1", DATABASE_URL="")
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_demo_and_serve_on_embedded_database(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, port)

    def run() -> subprocess.CompletedProcess[str]:
        command = [*CLI, "demo", "--no-serve"]
        return subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)

    first, second = run(), run()
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if re.match(r"^\w[\w -]*: http", line)]
    console = [line for line in lines if line.startswith("console:")]
    lines = [line for line in lines if not line.startswith("console:")]
    assert [line.split(":")[0] for line in lines] == LABELS
    assert console and f"http://127.0.0.1:{port}/console as billing@northwind.example (billing)" in console[0]
    assert all(re.fullmatch(rf"[\w-]+: http://127\.0\.0\.1:{port}/i/[A-Za-z0-9_-]{{32}}", line) for line in lines)
    assert second.stdout == first.stdout  # idempotent: same invoices, same links

    # The demo made and kept a key; `serve` is a deployment: without SECRET_KEY it refuses to start, and says why.
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by its owner only
    refused = subprocess.run([*CLI, "serve"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr
    env = {**env, "SECRET_KEY": TEST_SECRET_KEY}
    server = subprocess.Popen(
        [*CLI, "serve"], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not come up"
                time.sleep(0.3)
        open_url = lines[0].split(": ", 1)[1]
        english = {"Accept-Language": "en"}  # the demo's invoices are in German, Japanese and English
        with urllib.request.urlopen(urllib.request.Request(open_url, headers=english), timeout=10) as response:
            assert b"Invoice INV-" in response.read()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    # The embedded PostgreSQL went down with the last process holding it.
    deadline = time.monotonic() + 15
    while (tmp_path / "postgres" / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not (tmp_path / "postgres" / "postmaster.pid").exists(), "embedded PostgreSQL left running"


def test_cli_demo_without_stripe_keys_runs_local_stripe(tmp_path: Path) -> None:
    """`make demo` on a fresh machine: no Stripe keys, so localstripe is started, wired in, and stopped with it."""
    port = _free_port()
    env = {k: v for k, v in _env(tmp_path, port).items() if not k.startswith("STRIPE_")}
    server = subprocess.Popen(
        [*CLI, "demo"], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert server.stdout is not None
        output: list[str] = []
        while not any(line.startswith("serving on") for line in output):
            line = server.stdout.readline()
            assert line, "demo exited early:\n" + "".join(output)
            output.append(line)
        stripe_line = next(line for line in output if line.startswith("payments: local Stripe test double on "))
        stripe_base = re.search(r"on (http://127\.0\.0\.1:\d+)", stripe_line).group(1)  # type: ignore[union-attr]
        partial = next(line for line in output if line.startswith("partial: ")).split(": ", 1)[1].strip()
        deadline = time.monotonic() + 60
        while True:
            try:
                english = urllib.request.Request(partial, headers={"Accept-Language": "en"})
                with urllib.request.urlopen(english, timeout=5) as response:
                    page, csp = response.read().decode(), response.headers["content-security-policy"]
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "demo server did not come up"
                time.sleep(0.3)
        assert "Continue to card details" in page and "Partially paid" in page
        assert f"script-src 'self' {stripe_base};" in csp
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    # localstripe goes down with the demo: it exits when its stdin closes, a moment later on a busy machine.
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", int(stripe_base.rsplit(":", 1)[1]))) != 0:
                break
        assert time.monotonic() < deadline, "localstripe outlived the demo"
        time.sleep(0.1)
