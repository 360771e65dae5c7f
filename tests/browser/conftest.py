"""Fixtures that serve the built book on loopback and drive Debian's Chromium.

Every page gets a route that aborts any request leaving 127.0.0.1 and records
it, and a listener that records JavaScript errors, so each test can assert
that a page works offline and without errors.
"""

import functools
import http.server
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").is_file():
        pytest.fail("no built book in _build/html: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageLog:
    """What a page did that a test may need to reject."""

    blocked_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser, site_url):
    """Return a function that opens a site path offline and returns (page, log)."""
    contexts = []

    def open_(path: str, viewport: dict = DESKTOP, color_scheme: str = "light"):
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme)
        contexts.append(context)
        page = context.new_page()
        log = PageLog()

        def route(request_route):
            url = request_route.request.url
            if url.startswith(site_url + "/") or url.startswith("data:"):
                request_route.continue_()
            else:
                log.blocked_requests.append(url)
                request_route.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda error: log.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                log.errors.append(f"console error: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.goto(f"{site_url}/{path}", wait_until="load")
        return page, log

    yield open_
    for context in contexts:
        context.close()


def site_pages() -> list[str]:
    """Every HTML page of the built book, relative to the site root."""
    if not SITE.is_dir():
        return []
    return sorted(
        path.relative_to(SITE).as_posix()
        for path in SITE.rglob("*.html")
        if "_static" not in path.parts
        and "vendor" not in path.parts
        and not is_redirect(path)
    )


def is_redirect(path: Path) -> bool:
    """Whether a built page only redirects elsewhere (the site root does)."""
    return 'http-equiv="Refresh"' in path.read_text(encoding="utf-8")[:2000]


def lesson_pages() -> list[str]:
    """The built pages of the lesson notebooks."""
    return [page for page in site_pages() if page.startswith("notebooks/")]
