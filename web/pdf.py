"""PDF rendering with WeasyPrint in a pre-warmed process pool (never on the event loop), cached by invoice version.

The HTML comes from the same templates as the live preview; workers only turn HTML into PDF bytes.
Cache: an in-process LRU in front of the shared `pdf_cache` table, and one render at a time per version.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from db.pdf_cache import claim_render, end_claim, insert_cached_pdf, select_cached_pdf
from web.i18n.message import Refusal, msg

log = logging.getLogger(__name__)

_worker_stylesheets: list[object] = []
_worker_base_url: str = ""


def _init_worker(stylesheet_paths: list[str], base_url: str) -> None:
    """Runs once per worker process: pay WeasyPrint's ~1 s import and CSS parsing before the first request."""
    global _worker_base_url
    import weasyprint

    _worker_stylesheets[:] = [weasyprint.CSS(filename=path) for path in stylesheet_paths]
    _worker_base_url = base_url


def _render_in_worker(html: str, factur_x: bytes | None = None) -> bytes:
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=_worker_base_url)
    if factur_x is None:
        pdf: bytes = document.write_pdf(stylesheets=_worker_stylesheets)
        return pdf
    # Factur-X: a PDF/A-3b (fonts embedded, an sRGB output intent, a fixed identifier) carrying its EN 16931 XML as
    # factur-x.xml, relationship Data, with the XMP metadata that names the profile.
    import facturx

    rendered = document.render(stylesheets=_worker_stylesheets)
    archival = rendered.write_pdf(pdf_variant="pdf/a-3b", pdf_identifier=hashlib.sha256(factur_x).digest()[:16])
    meta = rendered.metadata  # the page's own title, author, description and keywords, kept in the PDF/A's XMP
    described = {
        "title": meta.title or "", "author": ", ".join(meta.authors), "subject": meta.description or "",
        "keywords": ", ".join(meta.keywords),
    }  # fmt: skip
    embedded: bytes = facturx.generate_from_binary(
        archival, factur_x, flavor="factur-x", level="en16931", check_xsd=False, pdf_metadata=described
    )
    return embedded


# How often a process waiting for another's render of the same PDF looks for it in the shared table.
CLAIM_POLL_SECONDS = 0.1
# How long the requests waiting for a render that failed are told so, before the next one may try again.
FAILED_CLAIM_SECONDS = 5.0
_WARM_UP_HTML = "<html><head><title>warm-up</title></head><body><table><tr><td>1</td></tr></table></body></html>"


class PdfUnavailable(Refusal):
    """No PDF this time (a render over the time limit, a worker that died); the message says what to do."""


TOO_SLOW = msg(
    "This document is too large to turn into a PDF in reasonable time. Shorten it (fewer or shorter lines), "
    "or ask the billing team for a copy."
)
WORKER_DIED = msg("The PDF could not be made just now. Please try again in a moment.")


class _Worker:
    """One WeasyPrint process. A pool of one per worker, so a stuck or dead render costs only its own process."""

    def __init__(self, stylesheets: list[Path], base_dir: Path) -> None:
        # spawn, not fork: forking a process that runs an event loop and holds sockets is unsafe.
        self.executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=([str(p) for p in stylesheets], base_dir.as_uri() + "/"),
        )

    def submit(self, html: str, factur_x: bytes | None) -> asyncio.Future[bytes]:
        return asyncio.get_running_loop().run_in_executor(self.executor, _render_in_worker, html, factur_x)

    def pids(self) -> list[int]:
        return [pid for pid in self.executor._processes if pid is not None]  # no public accessor before 3.14

    def kill(self) -> None:
        """Stop the process mid-render: a running task cannot be cancelled any other way."""
        for process in list(self.executor._processes.values()):
            process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _retrieve(job: asyncio.Future[bytes]) -> None:
    if not job.cancelled():
        job.exception()


class PdfRenderer:
    """Renders on a fixed set of worker processes, one document per worker at a time, each within `time_limit`
    seconds. A render over the limit has its worker killed and replaced; so has a worker that died (the OOM
    killer): the request gets PdfUnavailable, and the next one a fresh worker."""

    def __init__(self, *, workers: int, stylesheets: list[Path], base_dir: Path, time_limit: float = 20.0) -> None:
        self.workers = max(1, workers)
        self.time_limit = time_limit
        self.renders = 0  # how many documents were rendered (not served from cache): tests and metrics read it
        self.replaced = 0  # workers killed or found dead and replaced
        self._stylesheets, self._base_dir = stylesheets, base_dir
        self._all = [_Worker(stylesheets, base_dir) for _ in range(self.workers)]
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        for worker in self._all:
            self._idle.put_nowait(worker)

    async def warm_up(self) -> None:
        await asyncio.gather(*(self.render(_WARM_UP_HTML) for _ in range(self.workers)))

    async def render(self, html: str, factur_x: bytes | None = None) -> bytes:
        """The PDF of `html`; with `factur_x` (CII XML), a Factur-X PDF/A-3b that carries it."""
        self.renders += 1
        worker = await self._idle.get()
        job = worker.submit(html, factur_x)
        job.add_done_callback(_retrieve)  # whoever stops waiting, its outcome is looked at (no asyncio warning)
        try:
            # Shielded: cancelling cannot stop a process, so the job's own future says when the worker is free.
            pdf = await asyncio.wait_for(asyncio.shield(job), self.time_limit)
        except TimeoutError:
            log.warning("PDF render over %.0f s: its worker is replaced", self.time_limit)
            self._idle.put_nowait(self._replace(worker))
            raise PdfUnavailable(TOO_SLOW) from None
        except BrokenProcessPool:
            log.warning("a PDF worker died mid-render: it is replaced")
            self._idle.put_nowait(self._replace(worker))
            raise PdfUnavailable(WORKER_DIED) from None
        except asyncio.CancelledError:
            # The reader went away mid-render: the worker is idle again only once that document is done.
            job.add_done_callback(lambda finished: self._release(worker, finished))
            raise
        except Exception:
            self._idle.put_nowait(worker)  # the document failed to render; the worker itself is fine
            raise
        self._idle.put_nowait(worker)
        return pdf

    def _release(self, worker: _Worker, finished: asyncio.Future[bytes]) -> None:
        broken = not finished.cancelled() and isinstance(finished.exception(), BrokenProcessPool)
        self._idle.put_nowait(self._replace(worker) if broken else worker)

    def worker_pids(self) -> list[int]:
        return [pid for worker in self._all for pid in worker.pids()]

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        fresh = _Worker(self._stylesheets, self._base_dir)
        self._all[self._all.index(worker)] = fresh
        self.replaced += 1
        return fresh

    def close(self) -> None:
        for worker in self._all:
            worker.executor.shutdown(wait=True, cancel_futures=True)


def rendering_fingerprint(templates_dir: Path, static_dir: Path, catalogs_dir: Path) -> str:
    """What the PDF depends on besides the data: templates, stylesheets, the translation catalogs (its labels),
    the code that writes the Factur-X XML it carries, and the WeasyPrint and factur-x versions."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{version('weasyprint')} {version('factur-x')} {version('drafthorse')}".encode())
    catalogs = catalogs_dir.rglob("*.po")
    einvoice = (Path(__file__).parent / "einvoice").glob("*.py")
    for path in sorted([*templates_dir.rglob("*.html"), *(static_dir / "css").glob("*.css"), *catalogs, *einvoice]):
        digest.update(path.relative_to(path.parent.parent).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


PdfKey = tuple[int, int, str]  # invoice id, version, words


@dataclass(frozen=True, slots=True)
class PrintJob:
    html: str
    factur_x: bytes | None = None  # the CII XML a Factur-X PDF carries, or None for a plain PDF


class PdfCache:
    """PDF bytes for (invoice id, version, words): memory, then the shared table, then one render. `words` names
    what else the PDF is made of besides the invoice (its language and the workspace's wording of it), so a PDF
    rendered with old words, even one finishing after the words changed, lands under a key nobody asks for."""

    def __init__(self, renderer: PdfRenderer, *, memory_bytes: int, fingerprint: str) -> None:
        self.renderer = renderer
        self.fingerprint = fingerprint
        self.memory_bytes = memory_bytes
        self._memory: OrderedDict[PdfKey, bytes] = OrderedDict()
        self._memory_used = 0
        self._in_flight: dict[PdfKey, asyncio.Future[bytes]] = {}

    def in_memory(self, invoice_id: int, version: int, words: str = "") -> bytes | None:
        """The PDF if this process holds it, without waiting for anything (web/portal/cache_hits.py)."""
        key = (invoice_id, version, words)
        cached = self._memory.get(key)
        if cached is not None:
            self._memory.move_to_end(key)
        return cached

    async def get(
        self,
        pool: asyncpg.Pool,
        invoice_id: int,
        version: int,
        build: Callable[[], Awaitable[PrintJob]],
        words: str = "",
    ) -> bytes:
        cached = self.in_memory(invoice_id, version, words)
        if cached is not None:
            return cached
        key = (invoice_id, version, words)
        in_flight = self._in_flight.get(key)
        if in_flight is not None:
            return await asyncio.shield(in_flight)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            pdf = await self._load_or_render(pool, key, build)
            future.set_result(pdf)
            self._remember(key, pdf)
            return pdf
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            del self._in_flight[key]

    async def _load_or_render(self, pool: asyncpg.Pool, key: PdfKey, build: Callable[[], Awaitable[PrintJob]]) -> bytes:
        """The shared table, else one render across all processes: the first to miss claims the render, the
        others look in the table every CLAIM_POLL_SECONDS until its PDF lands there. A holder that died leaves a
        claim that runs out (then the next renders it); one whose render failed marks it, and the requests that
        were waiting get the same message rather than each trying that render again in turn. No connection is
        held while a PDF renders (the claim is a row)."""
        invoice_id, version, words = key
        fingerprint = f"{self.fingerprint}:{words}" if words else self.fingerprint
        # Long enough for a render that waits for a free worker and then takes its whole time limit.
        claim_seconds = 2 * self.renderer.time_limit + 10
        give_up = asyncio.get_running_loop().time() + claim_seconds
        first = True
        while True:
            async with pool.acquire() as conn:
                stored = await select_cached_pdf(conn, invoice_id, version, fingerprint)
                if stored is not None:
                    return stored
                # A request that comes after a failure may try again (a customer pressing retry); one that was
                # waiting for the failed render is told so.
                claim = await claim_render(conn, invoice_id, version, fingerprint, claim_seconds, retry_failed=first)
                if claim.mine is not None:
                    # Another process may have rendered it, and let go of its claim, since this one looked.
                    stored = await select_cached_pdf(conn, invoice_id, version, fingerprint)
                    if stored is None:
                        break
                    await end_claim(conn, invoice_id, version, fingerprint, claim.mine)
                    return stored
            first = False
            if claim.failed or asyncio.get_running_loop().time() > give_up:
                raise PdfUnavailable(WORKER_DIED)
            await asyncio.sleep(CLAIM_POLL_SECONDS)
        try:
            job = await build()
            pdf = await self.renderer.render(job.html, job.factur_x)
            async with pool.acquire() as conn:
                await insert_cached_pdf(conn, invoice_id, version, fingerprint, pdf)  # and ends the claim
        except BaseException as error:
            # A failed render is marked for a moment; one whose request was cancelled just lets go.
            failed_for = FAILED_CLAIM_SECONDS if isinstance(error, Exception) else 0
            async with pool.acquire() as conn:
                await end_claim(conn, invoice_id, version, fingerprint, claim.mine, failed_for=failed_for)
            raise
        return pdf

    def _remember(self, key: PdfKey, pdf: bytes) -> None:
        if len(pdf) > self.memory_bytes:
            return
        old = self._memory.pop(key, None)
        self._memory_used -= len(old) if old else 0
        # An older version (or older words) of the same invoice is never served again.
        for stale in [k for k in self._memory if k[0] == key[0]]:
            self._memory_used -= len(self._memory.pop(stale))
        self._memory[key] = pdf
        self._memory_used += len(pdf)
        while self._memory_used > self.memory_bytes:
            _, evicted = self._memory.popitem(last=False)
            self._memory_used -= len(evicted)
