"""Settings: the only reader of the environment (and of an optional .env file). Tests build Settings directly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlette.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Settings:
    # None: start an embedded PostgreSQL (pgserver) under data_dir, so a fresh machine needs no set-up.
    database_url: str | None = None
    data_dir: Path = PROJECT_ROOT / ".data"
    host: str = "127.0.0.1"
    port: int = 8000
    # Public origin used in links we print or e-mail, e.g. https://pay.example.com. Defaults to http://host:port.
    base_url: str = ""
    db_pool_min: int = 1
    db_pool_max: int = 10
    pdf_workers: int = 2
    # A PDF render taking longer is stopped (its worker replaced) and the reader told so.
    pdf_time_limit_seconds: float = 20.0
    # In-process LRU in front of the shared PDF table, in bytes.
    pdf_memory_cache_bytes: int = 64 * 1024 * 1024
    templates_dir: Path = PROJECT_ROOT / "templates"
    static_dir: Path = PROJECT_ROOT / "static"
    # Stripe: payment is offered only when both keys are set. STRIPE_API_BASE points the SDK at a local test
    # double (localstripe) instead of api.stripe.com; STRIPE_JS_URL is where the browser loads Stripe.js from.
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # How often every connected workspace's recent Stripe invoices are walked again (events that never arrived);
    # 0 turns it off.
    stripe_reconcile_minutes: float = 60.0
    # How often waiting Stripe steps of invoices also issued in Stripe are tried (after Stripe was down, a card
    # payment's step); 0 turns the loop off (a console action still applies its own step at once).
    stripe_mirror_seconds: float = 10.0
    # How often successful payments' receipts not yet mailed are written and sent; 0 turns the loop off.
    receipt_mail_seconds: float = 5.0
    # PDFs are rendered as soon as an invoice changes, and a sweep every this many seconds renders what is still
    # missing (after a deploy: open invoices first); 0 turns pre-rendering off (PDFs then render on first request).
    pdf_prerender_seconds: float = 300.0
    # Mail (codes, comment notifications): SMTP when set, else the outbox table and the log (see web/mail.py).
    smtp_url: str = ""
    mail_from: str = "Invoice portal <invoices@localhost>"
    # A person's form arrives in well under a second; a body still trickling in after this is holding a worker.
    body_timeout_seconds: float = 20.0
    # Only `invoice-portal create-staff` reads it: the new account's password (never from the command line).
    staff_password: str = field(default="", repr=False)
    # Seals the secrets the database keeps (web/secret_box.py); the app refuses to start without it. While keys
    # are rotated, SECRET_KEY_OLD still opens what the old key sealed.
    secret_key: str = field(default="", repr=False)
    secret_key_old: str = field(default="", repr=False)

    @property
    def stripe_connected(self) -> bool:
        return bool(self.stripe_secret_key and self.stripe_publishable_key)

    @property
    def public_origin(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
        env_path = env_file if env_file is not None else PROJECT_ROOT / ".env"
        config = Config(
            env_path if env_path.is_file() else None, environ=environ if environ is not None else os.environ
        )
        data_dir = config("DATA_DIR", cast=str, default="")
        return cls(
            database_url=config("DATABASE_URL", cast=str, default="") or None,
            data_dir=Path(data_dir).resolve() if data_dir else PROJECT_ROOT / ".data",
            host=config("HOST", cast=str, default="127.0.0.1"),
            port=config("PORT", cast=int, default=8000),
            base_url=config("BASE_URL", cast=str, default=""),
            db_pool_min=config("DB_POOL_MIN", cast=int, default=1),
            db_pool_max=config("DB_POOL_MAX", cast=int, default=10),
            pdf_workers=config("PDF_WORKERS", cast=int, default=2),
            pdf_time_limit_seconds=config("PDF_TIME_LIMIT_SECONDS", cast=float, default=20.0),
            pdf_memory_cache_bytes=config("PDF_MEMORY_CACHE_MB", cast=int, default=64) * 1024 * 1024,
            stripe_secret_key=config("STRIPE_SECRET_KEY", cast=str, default=""),
            stripe_publishable_key=config("STRIPE_PUBLISHABLE_KEY", cast=str, default=""),
            stripe_webhook_secret=config("STRIPE_WEBHOOK_SECRET", cast=str, default=""),
            stripe_api_base=config("STRIPE_API_BASE", cast=str, default=""),
            stripe_js_url=config("STRIPE_JS_URL", cast=str, default="https://js.stripe.com/v3/"),
            stripe_reconcile_minutes=config("STRIPE_RECONCILE_MINUTES", cast=float, default=60.0),
            stripe_mirror_seconds=config("STRIPE_MIRROR_SECONDS", cast=float, default=10.0),
            receipt_mail_seconds=config("RECEIPT_MAIL_SECONDS", cast=float, default=5.0),
            pdf_prerender_seconds=config("PDF_PRERENDER_SECONDS", cast=float, default=300.0),
            smtp_url=config("SMTP_URL", cast=str, default=""),
            mail_from=config("MAIL_FROM", cast=str, default="Invoice portal <invoices@localhost>"),
            body_timeout_seconds=config("BODY_TIMEOUT_SECONDS", cast=float, default=20.0),
            staff_password=config("STAFF_PASSWORD", cast=str, default=""),
            secret_key=config("SECRET_KEY", cast=str, default=""),
            secret_key_old=config("SECRET_KEY_OLD", cast=str, default=""),
        )
