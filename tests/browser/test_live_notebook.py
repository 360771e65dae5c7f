"""Lesson 01 in a live JupyterLab: run all cells, then drive the explorer."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.browser.conftest import ROOT

pytestmark = pytest.mark.browser

LESSON = "01_what_makes_ml_systems_different.ipynb"
READOUTS = ".mlsys-explorer .mlsys-frame:visible"
LAB_SETTINGS = {
    # Render every cell: by default JupyterLab 4 draws only cells on screen, so
    # the explorer would not be in the page until scrolled to.
    # Start the notebook's kernel without asking which one.
    "@jupyterlab/notebook-extension/tracker": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
    # No "get notified about news?" toast over the notebook.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """Start JupyterLab on loopback with a token over a copy of the notebooks."""
    workdir = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / LESSON, workdir / LESSON)
    settings = workdir / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    environment = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings))
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={workdir}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    log = open(workdir / "server.log", "w")
    server = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=environment
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"JupyterLab did not start; see {workdir / 'server.log'}"
                    )
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_for_idle_kernel(page, timeout_s: float = 90) -> None:
    """Wait for the notebook kernel to be idle, accepting the kernel dialog if shown."""
    idle = page.get_by_text("Python 3 (ipykernel) | Idle")
    choose = page.get_by_role("button", name="Select", exact=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if choose.is_visible():
            choose.click()
        if idle.is_visible():
            return
        page.wait_for_timeout(250)
    pytest.fail("the notebook's kernel did not become idle")


def test_lesson01_runs_and_explorer_is_live(browser, jupyter_lab):
    base, token = jupyter_lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(base) else r.abort(),
    )
    try:
        page.goto(f"{base}/lab/tree/{LESSON}?token={token}")
        page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
        _wait_for_idle_kernel(page)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()

        readouts = page.locator(READOUTS).first
        readouts.wait_for(timeout=120_000)
        assert "batch 1" in readouts.inner_text()

        handle = page.locator(".mlsys-explorer .noUi-handle").first
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.mlsys-frame')].some("
            "f => f.getClientRects().length && f.innerText.includes('batch 2'))",
            timeout=10_000,
        )

        page.locator(".mlsys-explorer select").first.select_option("MI300X")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.mlsys-frame')].some("
            "f => f.getClientRects().length && f.innerText.includes('on MI300X'))",
            timeout=20_000,
        )

        # Wait for the last cell to finish before looking for errors.
        page.wait_for_function(
            "() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
            ".some(p => p.textContent.includes('[*]'))",
            timeout=120_000,
        )
        errors = page.locator('[data-mime-type="application/vnd.jupyter.error"]')
        assert errors.count() == 0
        stderr = page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        assert "Traceback" not in " ".join(stderr.all_inner_texts())
    except Exception:
        page.screenshot(path=str(ROOT / "_build" / "live-notebook-failure.png"))
        raise
    finally:
        context.close()
