"""Measure the foundation's speed and size budgets.

Budgets (a two-core machine):
- lesson 01 executes within 20 s;
- a live explorer update (slider moved, readouts and figure redrawn) within
  100 ms median, measured in-process;
- the lesson 01 page, with its pre-computed explorer, within 3 MB;
- `make test` on a warm .venv within 5 minutes (only with --make-test, since it
  takes minutes itself).

Run: `make bench`, or `.venv/bin/python benchmarks/bench_foundation.py [--make-test]`.
Prints one line per measurement; exits 1 if a budget is missed.
"""

import argparse
import gzip
import html.parser
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).parents[1]
LESSON = ROOT / "notebooks" / "01_what_makes_ml_systems_different.ipynb"
PAGE = (
    ROOT / "_build" / "html" / "notebooks" / "01_what_makes_ml_systems_different.html"
)

BUDGETS = {
    "lesson 01 execution (s)": 20.0,
    "slider move, median (ms)": 100.0,
    "picker change, median (ms)": 100.0,
    "lesson 01 page HTML (MB)": 3.0,
    "make test, warm (s)": 300.0,
}


def time_lesson_execution() -> float:
    notebook = nbformat.read(LESSON, as_version=4)
    resources = {"metadata": {"path": str(LESSON.parent)}}
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources=resources
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def time_explorer_updates() -> tuple[float, float]:
    """Median milliseconds for a slider move and for a picker change, live."""
    from mlsys.explorers.find_the_wall import find_the_wall
    from mlsys.hardware import accelerator_names
    from mlsys.models import model_names

    explorer = find_the_wall()
    picker_ms, slider_ms = [], []
    # Every choice of GPU with the default model, then every model on a B200,
    # skipping pairs whose weights do not fit (those show a message, no figure).
    changes = [("GPU", gpu) for gpu in accelerator_names() if gpu != "H100 SXM"]
    changes += [("GPU", "B200")]
    changes += [("Model", model) for model in model_names(dense_only=True)]
    for picker, value in changes:
        if explorer.pickers[picker].value == value:
            continue
        start = time.perf_counter()
        explorer.pickers[picker].value = value  # redraws the frame on screen
        elapsed = (time.perf_counter() - start) * 1e3
        if "mlsys-frame" not in explorer.frames[explorer.slider.index].value:
            continue
        picker_ms.append(elapsed)
        for batch in (2, 8, 64, 512):
            start = time.perf_counter()
            explorer.slider.value = batch  # a frame not yet redrawn for this choice
            slider_ms.append((time.perf_counter() - start) * 1e3)
    return statistics.median(slider_ms), statistics.median(picker_ms)


class _Resources(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.paths: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        url = attributes.get("src") if tag in ("script", "img") else None
        if tag == "link" and attributes.get("rel") == "stylesheet":
            url = attributes.get("href")
        if url and not url.startswith(("data:", "http:", "https:")):
            self.paths.append(url.split("?")[0])


def page_sizes() -> dict[str, float]:
    """Sizes in MB: the page HTML, and it with the files it names, raw and gzipped.

    "Files it names" are the scripts, style sheets and images in its tags; files
    that those load in turn (MathJax's fonts, for instance) are not counted.
    """
    parser = _Resources()
    parser.feed(PAGE.read_text(encoding="utf-8"))
    files = [PAGE] + [(PAGE.parent / path).resolve() for path in set(parser.paths)]
    files = [file for file in files if file.is_file()]
    raw = sum(file.stat().st_size for file in files)
    compressed = sum(len(gzip.compress(file.read_bytes())) for file in files)
    return {
        "lesson 01 page HTML (MB)": PAGE.stat().st_size / 1e6,
        "lesson 01 page with the files it names (MB)": raw / 1e6,
        "the same, gzip-compressed as a web server sends it (MB)": compressed / 1e6,
    }


def time_make_test() -> float:
    start = time.perf_counter()
    subprocess.run(["make", "test"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--make-test", action="store_true", help="also time `make test`"
    )
    args = parser.parse_args()

    results = {"lesson 01 execution (s)": time_lesson_execution()}
    slider, picker = time_explorer_updates()
    results["slider move, median (ms)"] = slider
    results["picker change, median (ms)"] = picker
    if PAGE.is_file():
        results.update(page_sizes())
    else:
        print(f"skipped page size: {PAGE} not built (run `make book`)")
    if args.make_test:
        results["make test, warm (s)"] = time_make_test()

    missed = False
    for name, value in results.items():
        budget = BUDGETS.get(name)
        if budget is None:
            print(f"{name}: {value:.3g}")
            continue
        verdict = "ok" if value <= budget else "OVER BUDGET"
        print(f"{name}: {value:.3g} (budget {budget:g}) {verdict}")
        missed |= value > budget
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
