"""The `invoice-portal` command: serve, migrate, demo, create-staff, rotate-secrets, stripe-sync."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import secrets
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import asyncpg
import uvicorn

from db.migrate import migrate
from db.rows import init_connection
from db.sealed_secrets import reseal_all
from db.stripe_invoices import StripeSync
from db.workspaces import select_workspace_by_slug
from web.app import create_app
from web.database import database_url
from web.routes import absolute_url
from web.secret_box import SecretBox, SecretUnreadable
from web.settings import Settings
from web.stripe.accounts import StripeAccounts
from web.stripe.gateway import CardAttachment, ProviderUnavailable

log = logging.getLogger("invoice_portal")


async def _migrate(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [f"{m.version:04d}_{m.name}" for m in await migrate(conn)]
    finally:
        await conn.close()


def _settings_with_database(settings: Settings) -> Settings:
    """Resolve the embedded database once, here, so the server we then start shares it."""
    return dataclasses.replace(settings, database_url=database_url(settings))


def cmd_migrate(settings: Settings) -> int:
    applied = asyncio.run(_migrate(database_url(settings)))
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_serve(settings: Settings) -> int:
    settings = _settings_with_database(settings)
    try:
        app = create_app(settings)  # refuses a missing SECRET_KEY or a malformed SMTP_URL
    except ValueError as wrong:
        print(f"invoice-portal: {wrong}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=settings.host, port=settings.port, proxy_headers=True)
    return 0


async def _create_staff(url: str, *, workspace: str, email: str, role: str, name: str, password: str) -> str:
    from db.rows import init_connection
    from db.workspaces import select_workspace_by_slug
    from web.console.auth import create_staff

    conn = await asyncpg.connect(url)
    try:
        await init_connection(conn)
        found = await select_workspace_by_slug(conn, workspace)
        if found is None:
            raise ValueError(f"There is no workspace {workspace!r}.")
        staff = await create_staff(
            conn, workspace_id=found.id, email=email, display_name=name, role=role, password=password
        )
        return staff.email
    finally:
        await conn.close()


def cmd_create_staff(settings: Settings, args: argparse.Namespace) -> int:
    """The password comes from STAFF_PASSWORD or a prompt, never from the command line (shell history, ps)."""
    import getpass

    password = settings.staff_password or getpass.getpass("Password (12 characters or more): ")
    try:
        email = asyncio.run(
            _create_staff(
                database_url(settings), workspace=args.workspace, email=args.email, role=args.role, name=args.name,
                password=password,
            )
        )  # fmt: skip
    except ValueError as refused:
        print(f"create-staff: {refused}", file=sys.stderr)
        return 2
    console = absolute_url(settings, "console_home")
    print(f"created {args.role} account {email}: sign in at {console} and scan the QR code")
    return 0


def cmd_demo(settings: Settings, *, serve: bool) -> int:
    from web.dev.demo import load_demo

    settings = _settings_with_database(settings)
    if not settings.secret_key:
        settings = dataclasses.replace(settings, secret_key=_demo_secret_key(settings.data_dir))
    assert settings.database_url is not None
    asyncio.run(_migrate(settings.database_url))
    links = asyncio.run(load_demo(settings.database_url))
    for label, token in links:
        print(f"{label}: {absolute_url(settings, 'invoice_show', token=token)}")
    from web.dev.demo import DEMO_PASSWORD, DEMO_STAFF

    accounts = ", ".join(f"{email} ({role})" for email, role, _name in DEMO_STAFF)
    print(
        f"console: {absolute_url(settings, 'console_home')} as {accounts}, password {DEMO_PASSWORD!r}; "
        "at the first sign-in, scan the QR code with an authenticator app"
    )
    sys.stdout.flush()
    if not serve:
        return 0
    with contextlib.ExitStack() as stack:
        if not settings.stripe_secret_key:
            settings = stack.enter_context(_local_stripe(settings))
        cards = _local_cards(settings)
        host = stack.enter_context(_embed_sample(settings))
        print(f"embed sample (a host app on another site, embedding the billing history): {host}", flush=True)
        print(f"serving on {settings.public_origin} (Ctrl+C to stop)", flush=True)
        app = create_app(settings, stripe_cards=cards)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


@contextlib.contextmanager
def _embed_sample(settings: Settings) -> Iterator[str]:
    """The sample host app on the next port, on `localhost` (another site than the portal's address), signing the
    demo customer in; the demo workspace gets its embed secret and allows that origin."""
    from web.dev.demo import set_up_demo_embed
    from web.dev.embed_host import demo_embed_secret, host_app

    assert settings.database_url is not None
    origin = f"http://localhost:{settings.port + 1}"
    secret = demo_embed_secret(settings.secret_key)
    asyncio.run(set_up_demo_embed(settings.database_url, SecretBox(settings.secret_key), secret, origin))
    app = host_app(settings.public_origin, "demo", secret, "ap@globex.example")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port + 1, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield origin + "/"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def _demo_secret_key(data_dir: Path) -> str:
    """The demo's SECRET_KEY: made once and kept under DATA_DIR (owner-only), so the demo's sealed secrets still
    open after a restart. A deployment sets SECRET_KEY itself; `serve` refuses to start without it."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


@contextlib.contextmanager
def _local_stripe(settings: Settings) -> Iterator[Settings]:
    """No Stripe keys: run localstripe on 127.0.0.1 and wire the portal to it, webhooks included, so the whole
    payment flow can be tried with card 4242 4242 4242 4242 (with real test keys, the demo uses Stripe)."""
    from web.dev import local_stripe

    with local_stripe.localstripe() as base:
        secret = "whsec_demo_" + secrets.token_hex(16)
        local_stripe.register_webhook(base, absolute_url(settings, "stripe_webhook"), secret)
        # A second account, as a business's own: pasting its keys in Settings → Stripe moves the demo workspace
        # off the server's account. The double forgets everything when it stops; the keys stay the same, so after
        # a restart "Connect Stripe" again recreates the webhook endpoint.
        own = local_stripe.create_account(
            base, "Northwind Studio (its own Stripe account)",
            secret_key=local_stripe.DEMO_OWN_SECRET_KEY, publishable_key=local_stripe.DEMO_OWN_PUBLISHABLE_KEY,
        )  # fmt: skip
        print(
            f"payments: local Stripe test double on {base} (no STRIPE_SECRET_KEY set). Test cards: "
            "4242 4242 4242 4242 pays, 4000 0000 0000 0341 is declined, 4000 0027 6000 3184 asks for 3-D Secure; "
            "any future expiry, any CVC. To connect the workspace's own account (console → Settings → Stripe), "
            f"paste secret key {own['secret_key']} and publishable key {own['publishable_key']}.",
            flush=True,
        )
        yield dataclasses.replace(
            settings,
            stripe_secret_key=local_stripe.SECRET_KEY,
            stripe_publishable_key=local_stripe.PUBLISHABLE_KEY,
            stripe_webhook_secret=secret,
            stripe_api_base=base,
            stripe_js_url=f"{base}/js.stripe.com/v3/",
        )


async def rotate_secrets(url: str, box: SecretBox) -> int:
    """How many secrets were sealed again under `box`'s key; SecretUnreadable (and nothing written) when one does
    not open."""
    conn = await asyncpg.connect(url)
    try:
        return await reseal_all(conn, box.reseal)
    finally:
        await conn.close()


def cmd_rotate_secrets(settings: Settings) -> int:
    """Seal every stored secret under SECRET_KEY (opening each with it or SECRET_KEY_OLD); secrets stored before
    encryption are sealed for the first time. Run it after changing SECRET_KEY, then drop SECRET_KEY_OLD."""
    if not settings.secret_key:
        print("SECRET_KEY is not set", file=sys.stderr)
        return 2
    box = SecretBox(settings.secret_key, [settings.secret_key_old])
    try:
        count = asyncio.run(rotate_secrets(database_url(settings), box))
    except SecretUnreadable as unreadable:
        print(f"nothing changed: {unreadable}", file=sys.stderr)
        return 1
    print(f"sealed {count} secrets under the current SECRET_KEY")
    return 0


def cmd_stripe_sync(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the workspace's Stripe invoices; the summary at the end, the progress on stderr as it goes."""
    from web.stripe_sync.backfill import SyncAlreadyRunning

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"--since {args.since!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    try:
        sync = asyncio.run(_stripe_sync(settings, args.workspace, since))
    except (LookupError, SyncAlreadyRunning) as refused:
        print(str(refused.args[0] if refused.args else refused), file=sys.stderr)
        return 1
    except ProviderUnavailable:
        print(
            "\nStripe could not be reached; what was synced is kept: run the command again to resume.", file=sys.stderr
        )
        return 1
    print(
        f"\nStripe sync of {args.workspace}: {sync.created} created, {sync.updated} updated, "
        f"{sync.unchanged} unchanged, {sync.skipped} drafts skipped, {len(sync.failed)} failed"
    )
    for failure in sync.failed:
        print(f"  {failure['id']}: {failure['reason']}")
    return 0


async def _stripe_sync(settings: Settings, slug: str, since: date | None) -> StripeSync:
    from web.stripe_sync.backfill import backfill

    url = database_url(settings)
    box = SecretBox(settings.secret_key, [settings.secret_key_old])
    accounts = StripeAccounts(settings, box, _local_cards(settings))
    pool = await asyncpg.create_pool(url, min_size=1, max_size=3, init=init_connection)
    try:
        async with pool.acquire() as conn:
            workspace = await select_workspace_by_slug(conn, slug)
            if workspace is None:
                raise LookupError(f"no workspace {slug!r}")
            account = await accounts.own(conn, workspace.id)
        if account is None:
            raise LookupError(f"workspace {slug!r} has not connected its own Stripe account (console → Settings)")
        return await backfill(pool, account, since=since, progress=_progress_bar)
    finally:
        await pool.close()


def _progress_bar(sync: StripeSync, resumed: bool) -> None:
    """One line on stderr, redrawn after each page (Stripe's lists give no total: the bar grows a block a page)."""
    done = sync.created + sync.updated + sync.unchanged + sync.skipped + len(sync.failed)
    pages = max(1, (done + 99) // 100)
    note = " (resumed)" if resumed else ""
    sys.stderr.write(
        f"\r[{'#' * min(pages, 40):<40}] {done} invoices{note}: {sync.created} created, {sync.updated} updated, "
        f"{sync.unchanged} unchanged, {len(sync.failed)} failed"
    )
    sys.stderr.flush()


def _local_cards(settings: Settings) -> CardAttachment | None:
    """Against a local double (its own, or one STRIPE_API_BASE points at), cards are confirmed its way."""
    if not settings.stripe_api_base:
        return None
    from web.dev.local_stripe import TokenCardId

    return TokenCardId()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="invoice-portal", description="Invoice portal")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the portal on HOST:PORT")
    commands.add_parser("migrate", help="apply pending database migrations")
    demo = commands.add_parser("demo", help="migrate, load demo invoices, print their links and serve")
    demo.add_argument("--no-serve", action="store_true", help="load and print the links, then exit")
    staff = commands.add_parser(
        "create-staff", help="create a console account (password from STAFF_PASSWORD or a prompt)"
    )
    staff.add_argument("--email", required=True)
    staff.add_argument("--role", required=True, choices=["billing", "support"])
    staff.add_argument("--workspace", default="demo", help="workspace slug (default: demo)")
    staff.add_argument("--name", default="", help="display name (default: the part of the address before @)")
    commands.add_parser("rotate-secrets", help="seal every stored secret under SECRET_KEY (after a key change)")
    sync = commands.add_parser("stripe-sync", help="copy a workspace's Stripe invoices (resumes an interrupted run)")
    sync.add_argument("--workspace", required=True, help="workspace slug (it must have connected Stripe)")
    sync.add_argument("--since", default="", help="only invoices created on or after this date (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # pgserver logs every pg_ctl call at INFO; its warnings and errors still show.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Stripe call is noise here
    settings = Settings.from_env()
    if args.command == "migrate":
        return cmd_migrate(settings)
    if args.command == "serve":
        return cmd_serve(settings)
    if args.command == "create-staff":
        return cmd_create_staff(settings, args)
    if args.command == "rotate-secrets":
        return cmd_rotate_secrets(settings)
    if args.command == "stripe-sync":
        return cmd_stripe_sync(settings, args)
    return cmd_demo(settings, serve=not args.no_serve)


if __name__ == "__main__":
    raise SystemExit(main())
