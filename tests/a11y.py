"""Accessibility audits in Debian's Chromium: axe-core's WCAG 2.0/2.1/2.2 A and AA rules on a page state at a
phone and a desktop width, a reflow check at 200% and 400% zoom, and (A11Y_SCREENSHOTS=1, or where a check failed) a
screenshot of each for a person to look at.

axe-core comes from the npm registry, pinned in devtools/a11y/package-lock.json (`make test` runs `npm ci` there)
and is injected as an init script, so the page keeps its real Content-Security-Policy while it is audited.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext, Page
from starlette.routing import BaseRoute, Route

from web.settings import PROJECT_ROOT

AXE_JS = PROJECT_ROOT / "devtools" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "a11y"
SCREENSHOTS_WANTED = os.environ.get("A11Y_SCREENSHOTS", "") == "1"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE, DESKTOP = 390, 1280
AUDIT_WIDTHS = (PHONE, DESKTOP)
# 1280 CSS px at 400% and 200% zoom: WCAG 1.4.10 asks for no horizontal scrolling at 320 px.
REFLOW_WIDTHS = (320, 640)
HEIGHT = 900

# Every page route an audit reached in this run, and the areas ("customer", "console"…) of flows that came out
# clean: tests/test_accessibility.py checks no page route is left out once every flow has passed.
AUDITED_ROUTES: set[str] = set()
CLEAN_AREAS: set[str] = set()

_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    rule: v.id, impact: v.impact || "", help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: (n.failureSummary || "").split("\\n").slice(1, 3)
      .join(" ").trim()}))
  }));
}"""

# The page scrolls sideways (the document is wider than the window): content is cut off for a zoomed reader.
# Wide data tables scroll inside their own box (.table-wrap), which WCAG allows; the page itself must not.
_OVERFLOW = """() => {
  const root = document.documentElement;
  if (root.scrollWidth <= root.clientWidth) return null;
  const wide = [...document.body.querySelectorAll("*")]
    .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1)
    .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string"
      ? "." + e.className.trim().split(/\\s+/).join(".") : ""));
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide: wide.slice(-5)};
}"""


@dataclass(frozen=True)
class Finding:
    state: str
    width: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.state} @ {self.width}px: {self.rule}: {self.detail}"


@dataclass
class Auditor:
    """Audits page states of one flow; `assert_clean()` fails with every finding of the flow, one per line."""

    routes: list[BaseRoute]
    findings: list[Finding] = field(default_factory=list)
    states: list[str] = field(default_factory=list)

    async def __call__(self, page: Page, state: str, *, route: str | None) -> None:
        """Audit what `page` shows now, as `state` (a file-name-safe label). `route` names the route that rendered
        it (checked against the URL), None for a path no route matches (the app's own Not Found page)."""
        assert re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", state), f"state names look like 'customer/open', not {state!r}"
        assert state not in self.states, f"state {state} audited twice"
        if route is not None:
            self._check_route(page.url, route)
        self.states.append(state)
        original = page.viewport_size
        try:
            for width in AUDIT_WIDTHS:
                await page.set_viewport_size({"width": width, "height": HEIGHT})
                found = len(self.findings)
                for violation in await page.evaluate(_RUN_AXE, WCAG_TAGS):
                    for node in violation["nodes"]:
                        detail = f"{violation['help']} [{violation['impact']}] at {node['target']}: {node['summary']}"
                        self.findings.append(Finding(state, width, violation["rule"], detail))
                await self._reflow(page, state, width)
                # A full-page screenshot costs about as much as the audit: taken for a person who asks for them,
                # and always where something was found.
                if SCREENSHOTS_WANTED or len(self.findings) > found:
                    path = SCREENSHOTS / f"{state.replace('/', '--')}-{width}.png"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(path=str(path), full_page=True)
            for width in REFLOW_WIDTHS:
                await page.set_viewport_size({"width": width, "height": HEIGHT})
                await self._reflow(page, state, width)
        finally:
            if original is not None:
                await page.set_viewport_size(original)
        if route is not None:
            AUDITED_ROUTES.add(route)

    async def _reflow(self, page: Page, state: str, width: int) -> None:
        overflow: dict[str, Any] | None = await page.evaluate(_OVERFLOW)
        if overflow is not None:
            detail = (
                f"page is {overflow['scrollWidth']}px wide in a {overflow['clientWidth']}px window: {overflow['wide']}"
            )
            self.findings.append(Finding(state, width, "horizontal-scroll", detail))

    def _check_route(self, url: str, name: str) -> None:
        path = re.sub(r"^https?://[^/]+", "", url).split("?")[0].split("#")[0]
        route = next((r for r in self.routes if isinstance(r, Route) and r.name == name), None)
        assert route is not None, f"no route named {name}"
        assert route.path_regex.match(path), f"{path} is not the route {name} ({route.path})"

    def assert_clean(self) -> None:
        assert self.states, "nothing was audited"
        assert not self.findings, f"{len(self.findings)} accessibility findings:\n" + "\n".join(map(str, self.findings))
        CLEAN_AREAS.update(state.split("/")[0] for state in self.states)


async def audit_context(context: BrowserContext) -> None:
    """Make every page of `context` carry axe-core (an init script is not subject to the page's CSP)."""
    assert AXE_JS.exists(), f"{AXE_JS} is missing: run `make test` (it runs `npm ci` in devtools/a11y)"
    await context.add_init_script(path=str(AXE_JS))
