"""The package rules of web/ (README, Architecture), read from the code itself so that they cannot drift:
imports point one way, internal URLs come from route names, only the gateway imports `stripe`."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from web.settings import PROJECT_ROOT

WEB = PROJECT_ROOT / "web"
TEMPLATES = PROJECT_ROOT / "templates"
# A path of ours: the prefixes web/routes.py serves.
_INTERNAL = r"/(?:i|console|static|logos|webhooks|healthz)(?:/|\?|#|$)"
_PYTHON_URL = re.compile(r"(?:^|[\s(=])" + _INTERNAL)
# In a template: an attribute or a Jinja string that starts with one of our paths, or one glued after an expression.
_TEMPLATE_URL = re.compile(r"(?:[\"']|\}\})" + _INTERNAL)


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(WEB.rglob("*.py")):
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=relative)


def _imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes: prose may name a path, code may not."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


# The layers of README's picture, top to bottom: a module may import its own layer or a lower one (views excepted:
# a view never imports another view module; what two views share lives in a layer below).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("web.app", "web.cli", "web.routes", "web.dev"),
    ("web.views",),
    ("web.portal", "web.console"),
    (
        "web.payments",
        "web.comments",
        "web.history",
        "web.receipts",
        "web.embed",
        "web.stripe",
        "web.stripe_sync",
        "web.stripe_mirror",
    ),
    ("web.http",),
    ("web.invoices", "web.i18n", "web.einvoice"),  # the document, its words and its e-invoice files
    # infrastructure: database, realtime, streams, mail, pdf, otp, locales, settings, state; and the Message every
    # layer refuses with (web.i18n words it)
    ("web", "web.i18n.message"),
    ("db",),
)


def _layer(module: str) -> int:
    """The index in LAYERS of the longest matching package (0 is the top)."""
    best, depth = len(LAYERS) - 2, 0
    for index, packages in enumerate(LAYERS):
        for package in packages:
            if (module == package or module.startswith(package + ".")) and package.count(".") + 1 > depth:
                best, depth = index, package.count(".") + 1
    return best


def _module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def test_architecture_imports_point_down_the_layers() -> None:
    offenders = []
    sources = [*_modules(), *((p.relative_to(PROJECT_ROOT).as_posix(), ast.parse(p.read_text())) for p in
                              sorted((PROJECT_ROOT / "db").glob("*.py")))]  # fmt: skip
    for path, tree in sources:
        importer = _module_name(path)
        for name in _imported(_runtime_part(tree)):
            if name.split(".")[0] not in ("web", "db") or name in ("web", "db"):
                continue
            if _layer(name) < _layer(importer):
                offenders.append(f"{importer} imports {name} (a higher layer)")
            elif importer.startswith("web.views.") and name.startswith("web.views.") and _is_module(name):
                offenders.append(f"{importer} imports {name} (another view)")
    assert offenders == []


def _is_module(name: str) -> bool:
    path = PROJECT_ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_architecture_layer_table_knows_the_packages() -> None:
    """Every package of web/ is placed in a layer (a new one must be put in the picture)."""
    packages = {p.name for p in WEB.iterdir() if (p / "__init__.py").is_file()}
    placed = {package.split(".")[1] for layer in LAYERS for package in layer if package.count(".") == 1}
    assert packages <= placed, packages - placed
    assert _layer("web.views.console.inbox") == 1 and _layer("web.mail") == 6 and _layer("db.rows") == 7


def test_architecture_only_views_and_routes_import_views() -> None:
    offenders = [
        f"{path} imports {name}"
        for path, tree in _modules()
        if not path.startswith("web/views/") and path != "web/routes.py"
        for name in _imported(tree)
        if name == "web.views" or name.startswith("web.views.")
    ]
    assert offenders == []


def test_architecture_capabilities_never_import_the_app_or_dev_tools() -> None:
    """Nothing below the app imports it back (web.app, web.cli), and production code never imports web.dev."""
    allowed_dev = ("web/dev/", "web/cli.py")
    offenders = [
        f"{path} imports {name}"
        for path, tree in _modules()
        for name in _imported(tree)
        if (name in ("web.app", "web.cli") and not path.startswith(allowed_dev))
        or (name.startswith("web.dev") and not path.startswith(allowed_dev))
    ]
    assert offenders == []


def test_architecture_db_never_imports_web() -> None:
    offenders = []
    for path in sorted((PROJECT_ROOT / "db").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{path.name} imports {name}" for name in _imported(tree) if name.split(".")[0] == "web"]
    assert offenders == []


def _runtime_part(tree: ast.Module) -> ast.Module:
    """The module without its `if TYPE_CHECKING:` blocks: imports there only name types."""
    body = [
        node
        for node in tree.body
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    ]
    return ast.Module(body=body, type_ignores=[])


def test_architecture_only_the_gateway_imports_stripe() -> None:
    """The gateway: payments (gateway.py), the console's key checks and webhook endpoints (admin.py), and reading
    Stripe Invoicing (invoices.py), issuing portal invoices in it (issuing.py), and the customer portal
    (billing_portal.py)."""
    offenders = [
        f"{path} imports {name}"
        for path, tree in _modules()
        if path
        not in {
            "web/stripe/gateway.py",
            "web/stripe/admin.py",
            "web/stripe/invoices.py",
            "web/stripe/issuing.py",
            "web/stripe/billing_portal.py",
        }
        for name in _imported(_runtime_part(tree))
        if name.split(".")[0] == "stripe"
    ]
    assert offenders == []


def test_architecture_the_stripe_double_is_never_imported_by_the_app() -> None:
    """devtools/ (localstripe is GPL) runs as its own process; web/dev/local_stripe.py only starts it and talks HTTP."""
    offenders = [
        f"{path} imports {name}"
        for path, tree in _modules()
        for name in _imported(tree)
        if name.split(".")[0] in {"devtools", "stripe_double", "localstripe"}
    ]
    assert offenders == []


def test_architecture_no_url_literal_in_python_outside_routes() -> None:
    offenders = []
    for path, tree in _modules():
        if path == "web/routes.py":
            continue
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            if is_text and _PYTHON_URL.search(node.value):
                offenders.append(f"{path}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


_QUERY_METHODS = frozenset({"execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table"})


def test_architecture_all_sql_is_in_db() -> None:
    """No module of web/ runs a statement itself: it calls a query function of db/."""
    offenders = [
        f"{path}:{node.lineno}: .{node.func.attr}()"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _QUERY_METHODS
    ]
    assert offenders == []


def test_architecture_no_url_literal_in_templates() -> None:
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()[:80]}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _TEMPLATE_URL.search(line)
    ]
    assert offenders == []


def test_architecture_checks_see_what_they_forbid(tmp_path: Path) -> None:
    """The patterns above catch the shapes that used to be in the code (a silent check is a broken one)."""
    for literal in ('f"/console/invoices/{id}"', '"/i/" + token', 'RedirectResponse("/console")'):
        value = next(n.value for n in ast.walk(ast.parse(literal)) if isinstance(n, ast.Constant))
        assert _PYTHON_URL.search(str(value)), literal
    for markup in ('href="/console/invoices"', "{{ base }}/i/{{ token }}", "src=\"{{ x or '/logos/' ~ sha }}\""):
        assert _TEMPLATE_URL.search(markup), markup
    assert not _PYTHON_URL.search("a/console/b") and not _TEMPLATE_URL.search("href=\"{{ path_for('x') }}\"")
