"""Headless Chromium for browser tests: the system ``/usr/bin/chromium`` driven by Playwright.

No ``playwright install`` is needed (reference/dependencies.md §8). Every test in this folder is
marked ``browser``. Without playwright or chromium the tests are skipped, unless
``WORKSHOPKIT_REQUIRE_BROWSER=1`` (CI), in which case they fail.

Fixtures:

- ``browser``: one Chromium per session.
- ``offline_context``: a fresh browser context (1280x800) per test, closed afterwards.
- ``open_offline``: ``open_offline(page_or_context, path) -> OfflinePage``: blocks every request
  that is not ``file:`` ("no wifi"), records every request, blocked and failed requests, console
  errors, page errors and dialogs (dismissed), then opens ``path`` from ``file://``.
- ``artifacts_dir``: ``tests/browser/_artifacts/`` for screenshots (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path(os.environ.get("WORKSHOPKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
ARTIFACTS = Path(__file__).parent / "_artifacts"
_HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("WORKSHOPKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and WORKSHOPKIT_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def offline_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        yield context
    finally:
        context.close()


@dataclass
class OfflinePage:
    """A page opened from file:// with the network cut, and what went wrong while loading."""

    page: Page
    blocked: list[str] = field(default_factory=list)  # non-file: requests, aborted
    failed: list[str] = field(default_factory=list)  # requests that failed (incl. blocked)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (url, resource type), all
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt messages, dismissed

    def problems(self) -> list[str]:
        return [
            *(f"blocked {u}" for u in self.blocked),
            *(f"failed {u}" for u in self.failed),
            *(f"console error: {m}" for m in self.console_errors),
            *(f"page error: {m}" for m in self.page_errors),
            *(f"dialog {m}" for m in self.dialogs),
        ]

    def watch(self, page: Page) -> None:
        """Record console and page errors and dialogs of another page too (a popup, say)."""
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(f"{page.url}: {exc}"))
        page.on("requestfailed", self._on_failed)
        page.on("dialog", self._on_dialog)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_failed(self, request: Any) -> None:
        self.failed.append(f"{request.url} ({request.failure})")

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


def open_offline(page_or_context: Page | BrowserContext, path: Path) -> OfflinePage:
    """Open ``path`` from file:// with every non-``file:`` request aborted (see OfflinePage).

    The route is installed on the browser context, so popups and iframes are cut off too.
    """
    from playwright.sync_api import Page

    if isinstance(page_or_context, Page):
        page = page_or_context
        context = page.context
    else:
        context = page_or_context
        page = context.new_page()
    record = OfflinePage(page=page)

    def cut_network(route: Any) -> None:
        url = route.request.url
        record.requests.append((url, route.request.resource_type))
        if url.startswith("file:"):
            route.continue_()
        else:
            record.blocked.append(url)
            route.abort()

    context.route("**/*", cut_network)
    record.watch(page)
    page.goto(Path(path).resolve().as_uri())
    return record


@pytest.fixture(name="open_offline")
def open_offline_fixture() -> Callable[[Page | BrowserContext, Path], OfflinePage]:
    return open_offline


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
