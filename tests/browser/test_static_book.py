"""The built book as a reader sees it: offline, with a keyboard, on a phone, in dark mode."""

import html.parser
import json
import statistics
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from tests.browser.conftest import (
    AXE_SCRIPT,
    PHONE,
    SCREENSHOTS,
    SITE,
    lesson_pages,
    site_pages,
)

pytestmark = pytest.mark.browser

EXPLORER_JS = (Path(__file__).parent / "explorer.js").read_text()
KEY_PRESS_BUDGET_MS = 100


def _explorer(page, method: str):
    return page.evaluate(f"() => ({EXPLORER_JS}).{method}()")


def _wait_for_explorer(page):
    page.locator(".mlsys-explorer .noUi-handle").first.wait_for(
        state="visible", timeout=20_000
    )
    page.wait_for_function(f"() => ({EXPLORER_JS}).fingerprint() !== null", timeout=20_000)


def test_book_has_lesson_pages():
    assert (SITE / "index.html").is_file(), "run `make book` first"
    assert lesson_pages(), "no lesson pages under _build/html/notebooks"


def test_site_root_redirects_to_welcome_page(open_page):
    page, log = open_page("index.html")
    page.wait_for_url("**/book/index.html")
    assert log.errors == []


@pytest.mark.parametrize("path", site_pages())
def test_page_loads_offline_without_errors(open_page, path):
    page, log = open_page(path)
    page.wait_for_load_state("networkidle")
    assert log.blocked_requests == [], "requests left the machine"
    assert log.errors == []


@pytest.mark.parametrize("path", lesson_pages())
def test_keyboard_moves_explorer_within_budget(open_page, path, record_property):
    page, log = open_page(path)
    _wait_for_explorer(page)
    handle = page.locator(".mlsys-explorer .noUi-handle").first
    handle.focus()
    seen = {_explorer(page, "fingerprint")}
    timings = []
    for key in ["ArrowRight"] * 4 + ["ArrowLeft"]:
        _explorer(page, "armTimer")
        page.keyboard.press(key)
        page.wait_for_function(
            f"() => ({EXPLORER_JS}).elapsed() !== null", timeout=5_000
        )
        timings.append(_explorer(page, "elapsed"))
        seen.add(_explorer(page, "fingerprint"))
    assert len(seen) == 5, "each key press should show a different frame"
    median = statistics.median(timings)
    record_property("key_to_frame_ms", json.dumps([round(t, 1) for t in timings]))
    assert median < KEY_PRESS_BUDGET_MS
    assert log.errors == []


@pytest.mark.parametrize("path", lesson_pages())
def test_explorer_fits_and_moves_on_phone(open_page, path):
    page, _ = open_page(path, viewport=PHONE)
    _wait_for_explorer(page)
    right_edge = page.evaluate(
        "() => document.querySelector('.mlsys-explorer').getBoundingClientRect().right"
    )
    assert right_edge <= PHONE["width"] + 1
    image_width = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('.mlsys-frame img')]"
        ".filter(i => i.getClientRects().length).map(i => i.getBoundingClientRect().width))"
    )
    assert image_width <= PHONE["width"]
    before = _explorer(page, "fingerprint")
    page.locator(".mlsys-explorer .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"(before) => ({EXPLORER_JS}).fingerprint() !== before", arg=before
    )


LOW_CONTRAST_JS = """
() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return null;
  };
  const problems = [];
  const scope = document.querySelectorAll('.mlsys-explorer *, figure *, .cell_output *');
  for (const el of scope) {
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text || !el.getClientRects().length) continue;
    const fg = parse(getComputedStyle(el).color).slice(0, 3);
    const bg = background(el);
    if (!bg) { problems.push('transparent all the way up: ' + el.textContent.trim().slice(0, 40)); continue; }
    const [a, b] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) problems.push(ratio.toFixed(2) + ': ' + el.textContent.trim().slice(0, 40));
  }
  return problems;
}
"""


@pytest.mark.parametrize("path", lesson_pages())
def test_explorer_and_figures_readable_in_dark_mode(browser, site_url, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script("localStorage.setItem('mode', 'dark');")
    try:
        page = context.new_page()
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith(site_url) else r.abort(),
        )
        page.goto(f"{site_url}/{path}")
        _wait_for_explorer(page)
        assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
        assert page.evaluate(LOW_CONTRAST_JS) == []
    finally:
        context.close()


@pytest.mark.parametrize("path", site_pages())
def test_page_has_no_serious_accessibility_violations(open_page, path):
    page, _ = open_page(path)
    if "notebooks/" in path:
        _wait_for_explorer(page)
    page.add_script_tag(path=str(AXE_SCRIPT))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
    )
    assert violations == []


@pytest.mark.parametrize("path", site_pages())
def test_every_image_has_alt_text(open_page, path):
    page, _ = open_page(path)
    if "notebooks/" in path:
        _wait_for_explorer(page)
    missing = page.evaluate(
        "() => [...document.querySelectorAll('main img, article img')]"
        ".filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.src.slice(0, 80))"
    )
    assert missing == []


class _LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])


def _parse(path: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("path", site_pages())
def test_internal_links_and_anchors_resolve(path):
    base = f"http://site/{path}"
    broken = []
    for href in _parse(SITE / path).links:
        target = urlparse(urljoin(base, href))
        if target.scheme != "http" or target.netloc != "site":
            continue
        file = SITE / unquote(target.path.lstrip("/"))
        if file.is_dir():
            file = file / "index.html"
        if not file.is_file():
            broken.append(href)
        elif target.fragment and file.suffix == ".html":
            if target.fragment not in _parse(file).ids:
                broken.append(href)
    assert broken == []


@pytest.mark.parametrize("path", lesson_pages())
def test_screenshots_of_lesson_pages(open_page, path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = Path(path).stem
    for label, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", PHONE)):
        page, _ = open_page(path, viewport=viewport)
        _wait_for_explorer(page)
        shot = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
