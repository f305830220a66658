"""Driving JupyterLab as a learner does — its menus, links, tabs and widgets — with Playwright.

Only what the browser test needs: start `make lab` on a free port with a state folder of its
own, open a notebook, run all its cells through the Run menu, wait for the kernel, and read
what the page shows (outputs, prompts, widgets).

WORKBOOK_BROWSER_NOTEBOOKS=FOLDER starts the working copy with the notebooks of FOLDER instead
of notebooks/: a way to try edited notebooks in the browser before they are committed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page

ROOT = Path(__file__).resolve().parents[2]
# Chromium without a network: no background requests (they fail and slow it down), no sandbox
# (containers, root), a profile of its own.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SETTINGS = {
    # no "get notified about Jupyter news?" toast over the page's corner
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
WIDGET_LOADING_BOUND_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """`make lab` running for the test: where it answers, its token, its folders."""

    url: str
    token: str
    env: dict[str, str]
    working_copy: Path
    state_dir: Path
    process: subprocess.Popen
    log: Path

    def python(self, *arguments: str, **env: str) -> subprocess.CompletedProcess:
        """``.venv/bin/python ARGUMENTS`` in the lab's environment (its local cloud's state)."""
        return subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), *arguments],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def endpoint(self) -> str:
        return json.loads((self.state_dir / "endpoint.json").read_text())["endpoint"]

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.python("-m", "helpers.localcloud", "--stop")


def start_lab(folder: Path) -> Lab:
    """`make lab` on a free port, with its own working copy, local cloud, settings and token,
    and without opening a browser; returns once JupyterLab answers."""
    port, token = free_port(), secrets.token_hex(16)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "WORKBOOK_", "JUPYTER", "MAKE", "MFLAGS"))
        and k not in {"VIRTUAL_ENV", "LOCALCLOUD_STATE_DIR", "LOCALCLOUD_PORT"}
    }
    settings = folder / "settings"
    for name, values in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env.update(
        LOCALCLOUD_STATE_DIR=str(folder / "localcloud"),
        LOCALCLOUD_PORT=str(free_port()),
        JUPYTER_TOKEN=token,
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(folder / "workspaces"),
    )
    trying = os.environ.get("WORKBOOK_BROWSER_NOTEBOOKS")
    if trying:  # notebooks to try before they are committed: the working copy starts with them
        (folder / "my-notebooks").mkdir()
        for notebook in Path(trying).glob("*.ipynb"):
            (folder / "my-notebooks" / notebook.name).write_bytes(notebook.read_bytes())
    log = folder / "make-lab.log"
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "lab",
            f"JUPYTER_PORT={port}",
            f"WORKING_COPY={folder / 'my-notebooks'}",
            "LAB_OPTIONS=--no-browser",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lab = Lab(
        f"http://127.0.0.1:{port}",
        token,
        env,
        folder / "my-notebooks",
        folder / "localcloud",
        process,
        log,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"make lab exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2):
                return lab
        except OSError:
            time.sleep(0.5)
    lab.stop()
    raise TimeoutError(f"JupyterLab did not answer within 180 s:\n{log.read_text()}")


def chromium() -> str:
    sys.path.insert(0, str(ROOT / "tools"))
    from browser_prerequisites import chromium as find

    found = find()
    if found is None:
        raise RuntimeError("no Chromium: run `make test-browser`, which says what to install")
    return found


def current_tab(page: Page, label: str, bound: float = 60) -> str:
    """The id of the main area's current tab once its label is ``label``."""
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if tab.count() and tab.first.inner_text().strip() == label:
            return tab.first.get_attribute("data-id")
        time.sleep(0.2)
    raise TimeoutError(f"{label} did not open as the current tab")


def show_tab(page: Page, label: str) -> Locator:
    """Make the open tab with this label the current one; returns its content."""
    page.locator(
        "#jp-main-dock-panel .lm-TabBar-tab", has_text=re.compile(f"^{re.escape(label)}$")
    ).first.click()
    return page.locator(f"[id='{current_tab(page, label)}']")


def rendered(page: Page, label: str) -> Locator:
    """The rendered Markdown of a Markdown Preview tab (contents.md, README.md)."""
    return page.locator(f"[id='{current_tab(page, label)}'] .jp-RenderedMarkdown")


class Notebook:
    """A notebook open in a JupyterLab tab."""

    folder: Path = ROOT / "notebooks"  # where its file is: the lab's working copy

    def __init__(self, page: Page, name: str, panel_id: str):
        self.page, self.name, self.id = page, name, panel_id
        self.panel = page.locator(f"[id='{panel_id}']")

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def current(cls, page: Page, name: str, bound: float = 60) -> Notebook:
        """The notebook ``name`` once it is the current tab and its kernel is idle."""
        notebook = cls(page, name, current_tab(page, name, bound))
        notebook.wait_for_kernel(bound)
        return notebook

    def activate(self) -> None:
        self.page.locator(f"#jp-main-dock-panel .lm-TabBar-tab[data-id='{self.id}']").click()

    # -- the kernel and the Run menu ---------------------------------------------------------
    def kernel_status(self) -> str | None:
        indicator = self.panel.locator(".jp-Notebook-ExecutionIndicator")
        return indicator.first.get_attribute("data-status") if indicator.count() else None

    def wait_for_kernel(self, bound: float = 60) -> None:
        deadline = time.monotonic() + bound
        while self.kernel_status() != "idle":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: kernel is {self.kernel_status()}")
            time.sleep(0.2)

    def menu(self, menu: str, item: str) -> None:
        """A command of the menu bar (Run, Kernel, File...), on this notebook."""
        self.activate()
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()

    def prompts(self) -> list[str]:
        return [p.strip() for p in self._texts(".jp-CodeCell .jp-InputPrompt")]

    def _texts(self, selector: str) -> list[str]:
        """textContent, not innerText: cells out of view (content-visibility) have no innerText."""
        return self.panel.locator(selector).evaluate_all("nodes => nodes.map(n => n.textContent)")

    def executed(self) -> int:
        return sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in self.prompts())

    def run_all(self, bound: float) -> float:
        """Run → Run All Cells, until every cell has run; returns the seconds it took."""
        started = time.monotonic()
        self.start_run_all()
        self.wait_until_done(bound)
        return time.monotonic() - started

    def start_run_all(self) -> None:
        """Run → Run All Cells, returning once the cells are queued (their prompts [*])."""
        self.menu("Run", "Run All Cells")
        deadline = time.monotonic() + 30
        while not any("*" in p for p in self.prompts()):
            assert time.monotonic() < deadline, f"{self.name}: Run All queued nothing"
            time.sleep(0.05)

    def wait_until_done(self, bound: float) -> None:
        """Until the kernel is idle with no cell queued or running ([*])."""
        deadline = time.monotonic() + bound
        quiet_since = None
        while True:
            running = any("*" in p for p in self.prompts()) or self.kernel_status() != "idle"
            if not running:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.0:
                    return
            else:
                quiet_since = None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: still running after {bound:.0f} s")
            time.sleep(0.2)

    # -- what the page shows -----------------------------------------------------------------
    def error_outputs(self) -> list[str]:
        """The text of every error (and stderr) output."""
        return self._texts(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")

    def widget_problems(self) -> list[str]:
        """Widget outputs showing JupyterLab's error or still loading."""
        texts = self._texts(".jp-OutputArea-output")
        return [t for t in texts if "Error displaying widget" in t or "Loading widget" in t]

    def check_ran_clean(self) -> None:
        """Every code cell ran, in order, with no error output and no widget left broken or
        loading (after WIDGET_LOADING_BOUND_S)."""
        prompts = self.prompts()
        numbers = [int(p[1:-2]) for p in prompts if re.fullmatch(r"\[\d+\]:", p)]
        errors = self.error_outputs()
        assert not errors, f"{self.name}: error output:\n" + "\n---\n".join(errors)
        assert len(numbers) == len(prompts), f"{self.name}: cells not run: {prompts}"
        assert numbers == sorted(numbers), f"{self.name}: cells ran out of order: {prompts}"
        deadline = time.monotonic() + WIDGET_LOADING_BOUND_S
        while problems := self.widget_problems():
            assert time.monotonic() < deadline, f"{self.name}: widgets: {problems}"
            time.sleep(0.5)

    def code_cell(self, containing: str) -> Locator:
        """The first code cell whose source contains the text. Found in the notebook's file:
        JupyterLab makes a cell's editor only once the cell has been in view."""
        cells = json.loads((self.folder / self.name).read_text())["cells"]
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "code" and containing in "".join(cell["source"]):
                return self.panel.locator(".jp-Cell").nth(index)
        raise LookupError(f"{self.name}: no code cell with {containing!r}")

    def select(self, cell: Locator) -> None:
        """Make the cell the selected one (command mode), as a click on its prompt does."""
        self.activate()
        cell.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Escape")

    def run_selected(self, bound: float = 60) -> None:
        """Shift+Enter on the selected cell (which then selects the next one)."""
        self.page.keyboard.press("Shift+Enter")
        self.wait_until_done(bound)

    def widget(self, containing: str) -> Locator:
        """The first of the workbook's widgets (class wb-widget) that shows this text."""
        return self.panel.locator(".wb-widget", has_text=containing).first
