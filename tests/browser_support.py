"""Drive JupyterLab in Debian's Chromium with Playwright: the machinery behind test_browser.py.

`jupyter_lab(root)` starts a private JupyterLab server (own token, port, settings, runtime and
workspace folders) on 127.0.0.1 and stops it by process id; `chromium()` launches Debian's
/usr/bin/chromium (or the browser GANLIB_CHROMIUM names) through Playwright (never a downloaded
browser); `Notebook` opens one notebook in the page, runs it, and finds and drags the widgets'
sliders.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
ENABLE_HINT = ("to run the browser tests, `apt-get install chromium` or set "
               "GANLIB_CHROMIUM=/path/to/chromium (they never download a browser)")
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-gpu",
                 "--disable-dev-shm-usage"]

# Lab settings: every cell stays in the page (since 4.2 off-screen cells are detached
# otherwise), and no news or update checks (the test machine is offline).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}

WIDGET_ERRORS = ("Error displaying widget", "model not found")


def chromium_path() -> Path:
    """The browser to drive: GANLIB_CHROMIUM when set, else Debian's /usr/bin/chromium."""
    return Path(os.environ.get("GANLIB_CHROMIUM") or DEBIAN_CHROMIUM)


def missing_chromium() -> str | None:
    """None when the browser is there, else one line saying what is missing and the fix."""
    path = chromium_path()
    if path.is_file() and os.access(path, os.X_OK):
        return None
    return f"no Chromium at {path}: {ENABLE_HINT}"


def in_ci() -> bool:
    """CI sets CI=true: there a missing browser fails the tests instead of skipping them."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids_whose_cmdline_has(marker: str) -> list[int]:
    """Processes whose command line contains `marker` (a path or token only we created)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(entry.name))
    return pids


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def lab_url(self, notebook: str) -> str:
        # reset: start from an empty workspace, so only this notebook is open
        return f"{self.url}/lab/tree/{notebook}?reset&token={self.token}"

    def api(self, method: str, path: str) -> object:
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


@contextlib.contextmanager
def jupyter_lab(root: Path, state: Path, timeout: float = 90.0):
    """A JupyterLab server serving `root`, with all its state under `state`; stopped on exit.

    The server runs from this interpreter (`sys.executable -m jupyter lab`), so the `python3`
    kernel it starts is this environment's Python, the one that has ganlib.
    """
    token = secrets.token_hex(16)
    port = free_port()
    settings, runtime, workspaces, config, data = (
        state / name for name in ("settings", "runtime", "workspaces", "config", "data"))
    for folder in (runtime, workspaces, config, data):
        folder.mkdir(parents=True, exist_ok=True)
    for rel, value in LAB_SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    env = {**os.environ,
           "OMP_NUM_THREADS": "1",  # 2-core machine: the kernel must not fight the browser
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
           "JUPYTER_RUNTIME_DIR": str(runtime),
           "JUPYTER_CONFIG_DIR": str(config),  # no user config leaks in
           "JUPYTER_DATA_DIR": str(data),  # no user kernelspec shadows this env's python3
           "PYTHONUNBUFFERED": "1"}
    env.pop("JUPYTER_PATH", None)
    log = state / "jupyter-lab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}",
           f"--LabApp.workspaces_dir={workspaces}", "--LabApp.news_url=None",
           "--ServerApp.open_browser=False"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    lab = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {proc.returncode} before it "
                                   f"served; its log ends:\n{lab.log_tail()}")
            try:
                lab.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not answer on {lab.url} within "
                                       f"{timeout:.0f} s; its log ends:\n{lab.log_tail()}"
                                       ) from None
                time.sleep(0.5)
        yield lab
    finally:
        # Kernels run in their own sessions: shut them down through the API, then the server;
        # anything left (a kernel's command line names our private runtime folder) by pid.
        with contextlib.suppress(Exception):
            for kernel in lab.api("GET", "/api/kernels"):
                lab.api("DELETE", f"/api/kernels/{kernel['id']}")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        _kill(_pids_whose_cmdline_has(str(runtime)))


@contextlib.contextmanager
def chromium():
    """Debian's Chromium under Playwright; the browser is killed by its process id on exit.

    Raises RuntimeError (with the fix) when the browser or Playwright is missing.
    """
    missing = missing_chromium()
    if missing:
        raise RuntimeError(missing)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise RuntimeError(f"Playwright for Python is missing ({e}): "
                           "pip install -e '.[dev]'") from e
    marker = f"--ganlib-browser-test={secrets.token_hex(8)}"  # finds our browser's pid
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(chromium_path()),
                                        args=[*CHROMIUM_ARGS, marker])
        except Exception as e:
            raise RuntimeError(f"{chromium_path()} did not start under Playwright: {e}") from e
        pids = _pids_whose_cmdline_has(marker)
        try:
            yield browser
        finally:
            with contextlib.suppress(Exception):
                browser.close()
            # Playwright starts the browser as the leader of its own process group.
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if os.getpgid(pid) == pid:
                        os.killpg(pid, signal.SIGKILL)
            _kill(_pids_whose_cmdline_has(marker))


# In-page JavaScript, evaluated in the notebook's panel.
_STATE_JS = """(path) => {
  // The kernel's state from the notebook's session (the toolbar's indicator reads 'idle'
  // before a kernel is even connected), and every code cell's prompt: [ ], [*] or [n].
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content || panel.context.path !== path) {
    return null;
  }
  const ctx = panel.sessionContext;
  const kernel = ctx.session && ctx.session.kernel;
  const ready = ctx.isReady && !!kernel && kernel.connectionStatus === 'connected';
  // A cell whose source is collapsed (the worked solutions) shows no prompt: read its count
  // from the cell's model instead.
  const prompts = panel.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const dom = c.node.querySelector('.jp-InputPrompt');
    const text = dom ? dom.textContent.trim() : '';
    const n = c.model.executionCount;
    return text === '[*]:' || !n ? text : `[${n}]:`;
  });
  return {prompts, status: ready ? kernel.status : 'not ready',
          dialog: document.querySelector('.jp-Dialog') ? document.querySelector('.jp-Dialog')
              .innerText.slice(0, 300) : null};
}"""

_RUN_ALL_JS = """() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"""

_ERRORS_JS = """(widgetErrors) => {
  // Errors from the notebook's model (every kind, SyntaxError included), widget failures
  // from the rendered page.
  const panel = window.jupyterapp.shell.currentWidget;
  const found = [];
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    const head = `cell ${i + 1} (In [${cell.model.executionCount ?? ' '}])`;
    for (const out of cell.model.outputs.toJSON()) {
      if (out.output_type === 'error') {
        const tb = (out.traceback || []).join('\\n').replace(/\\x1b\\[[0-9;]*m/g, '');
        found.push(`${head} raised ${out.ename}: ${out.evalue}\\n${tb.slice(-2000)}`);
      }
    }
    cell.node.querySelectorAll('.jp-OutputArea-output').forEach(out => {
      const text = out.innerText || '';
      const bad = widgetErrors.filter(w => text.includes(w));
      if (bad.length) found.push(`${head} widget did not render: ${text.slice(0, 500)}`);
    });
  });
  return found;
}"""


class Notebook:
    """One notebook opened in JupyterLab, in a page of its own."""

    def __init__(self, browser, lab: Lab, name: str, shots: Path, viewport=(1280, 1400)):
        self.lab, self.name, self.shots = lab, name, shots
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        with contextlib.suppress(Exception):
            if exc_type is not None:  # what the page showed when the test failed
                self.page.screenshot(path=self.shots / f"{Path(self.name).stem}_FAILED.png")
            self.page.close()
        with contextlib.suppress(Exception):  # free the CPU and memory for the next notebook
            for session in self.lab.api("GET", "/api/sessions"):
                if session["path"] == self.name:
                    self.lab.api("DELETE", f"/api/sessions/{session['id']}")

    def state(self) -> dict:
        try:
            state = self.page.evaluate(_STATE_JS, self.name)
        except Exception:  # the page is still loading
            state = None
        return state or {"prompts": [], "status": None, "dialog": None}

    def open(self, timeout: float = 90.0) -> None:
        """Load the notebook and wait until its kernel is connected and idle."""
        self.page.goto(self.lab.lab_url(self.name), wait_until="domcontentloaded",
                       timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if state["status"] == "idle" and not state["dialog"]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: JupyterLab did not show an idle kernel within {timeout:.0f} s "
                    f"(state {state}); server log ends:\n{self.lab.log_tail()}")
            time.sleep(0.25)

    def run_all(self, timeout: float = 150.0) -> None:
        """Run all cells; wait until none is queued or running and the kernel is idle."""
        before = self.state()["prompts"]
        self.page.evaluate(_RUN_ALL_JS)
        # Wait for the run to start (a prompt changes), then for it to end, stably.
        start = time.monotonic()
        while time.monotonic() - start < 15 and self.state()["prompts"] == before:
            time.sleep(0.1)
        deadline = start + timeout
        quiet_since = None
        while True:
            state = self.state()
            done = state["status"] == "idle" and "[*]:" not in state["prompts"]
            if done:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.5:
                    break
            else:
                quiet_since = None
            if time.monotonic() > deadline:
                self.raise_errors()
                raise AssertionError(f"{self.name}: cells still running after {timeout:.0f} s "
                                     f"(prompts {state['prompts']}, kernel {state['status']})")
            time.sleep(0.25)
        self.raise_errors()
        not_run = [i + 1 for i, p in enumerate(state["prompts"]) if not p[1:-2].isdigit()]
        if not_run:
            raise AssertionError(f"{self.name}: code cells {not_run} did not run "
                                 f"(prompts {state['prompts']})")

    def raise_errors(self) -> None:
        """Fail, quoting the cell, when a cell raised or a widget did not render."""
        errors = self.page.evaluate(_ERRORS_JS, list(WIDGET_ERRORS))
        if errors:
            raise AssertionError(f"{self.name}: a cell failed or a widget did not render:\n"
                                 + "\n---\n".join(errors))

    def slider(self, description: str):
        """The first slider labelled `description`, failing clearly when it did not render."""
        sliders = self.page.locator(".jupyter-widgets.widget-slider").filter(
            has=self.page.locator(".widget-label", has_text=description))
        try:
            sliders.first.locator(".noUi-handle").wait_for(state="visible", timeout=20_000)
        except Exception as e:
            self.raise_errors()
            texts = self.page.locator(".jp-OutputArea-output").all_inner_texts()
            shown = "\n".join(t[:200] for t in texts if "widget" in t.lower() or "(" in t)
            raise AssertionError(
                f"{self.name}: no slider labelled {description!r} rendered (is the ipywidgets "
                f"lab extension loaded?). Outputs that look like widget reprs:\n{shown[:3000]}"
            ) from e
        return sliders.first

    @staticmethod
    def panel_of(slider):
        """The nearest VBox around a slider: the whole ganlib widget."""
        return slider.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][1]")

    def drag(self, slider, fraction: float) -> None:
        """Drag the slider's handle with the mouse to `fraction` of the track."""
        slider.scroll_into_view_if_needed()
        handle = slider.locator(".noUi-handle").first.bounding_box()
        track = slider.locator(".noUi-target").first.bounding_box()
        x0, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        x1 = track["x"] + fraction * track["width"]
        mouse = self.page.mouse
        mouse.move(x0, y)
        mouse.down()
        for k in range(1, 11):
            mouse.move(x0 + (x1 - x0) * k / 10, y)
            time.sleep(0.05)
        mouse.up()

    def wait_src_change(self, image, old: str, timeout: float, what: str) -> str:
        try:
            image.evaluate("(img, [old, ms]) => new Promise((ok, no) => {"
                           "  const t0 = Date.now();"
                           "  const tick = () => img.src && img.src !== old ? ok(true)"
                           "    : Date.now() - t0 > ms ? no(new Error('timeout'))"
                           "    : setTimeout(tick, 100);"
                           "  tick(); })", [old, timeout * 1000])
        except Exception as e:
            self.raise_errors()
            raise AssertionError(f"{self.name}: {what} did not change within {timeout:.0f} s "
                                 "after the drag") from e
        return image.get_attribute("src")


# ----------------------------------------------------------------------------------------------
# The live-training widget (ganlib.live.LiveTraining): a small notebook and its measurements
# ----------------------------------------------------------------------------------------------

LIVE_NOTEBOOK_CELLS = [
    "from ganlib.config import preset\n"
    "from ganlib.live import LiveTraining\n"
    "toy = LiveTraining(preset('wgan-gp', 'ring8'), name='browser toy')\n"
    "toy.step(5)\n"
    "toy",
    "digits = LiveTraining(preset('dcgan', 'digits5k'), name='browser digits')\n"
    "digits.step(1)\n"
    "digits",
]


def write_live_notebook(path: Path) -> Path:
    """A two-cell notebook: the live widget on ring8 (WGAN-GP), then on digits5k (DCGAN)."""
    import nbformat

    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                   "language": "python"}
    book.cells = [nbformat.v4.new_code_cell(src) for src in LIVE_NOTEBOOK_CELLS]
    nbformat.write(book, str(path))
    return path


_COUNT_FRAMES_JS = """(img, ms) => new Promise(ok => {
  // the times (ms) at which the image's src changed during the next `ms` milliseconds
  const times = []; let last = img.src;
  const obs = new MutationObserver(() => {
    if (img.src !== last) { last = img.src; times.push(performance.now()); }
  });
  obs.observe(img, {attributes: true, attributeFilter: ['src']});
  setTimeout(() => { obs.disconnect(); ok(times); }, ms);
})"""

_WATCH_LABEL_JS = """([label, old]) => {
  // from the next mouse release, the time until the label no longer shows `old`
  window.__live = {up: null, seen: null};
  document.addEventListener('mouseup', () => { window.__live.up = performance.now(); },
                            {capture: true, once: true});
  const obs = new MutationObserver(() => {
    if (window.__live.up !== null && !label.textContent.includes(old)) {
      window.__live.seen = performance.now(); obs.disconnect();
    }
  });
  obs.observe(label, {subtree: true, childList: true, characterData: true});
}"""


class LivePanel:
    """One LiveTraining widget on the page: its buttons, image, status line and sliders."""

    def __init__(self, nb: Notebook, index: int):
        self.nb = nb
        self.image = nb.page.locator("img.widget-image").nth(index)
        self.image.wait_for(state="visible", timeout=30_000)
        self.panel = self.image.locator(
            "xpath=ancestor::div[contains(@class,'widget-vbox')][1]")
        self.status = self.panel.locator(".widget-label, .widget-label-basic").filter(
            has_text="updates").first

    def press(self, name: str) -> None:
        import re

        self.panel.locator("button.widget-button").filter(
            has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")).click()

    def slider(self, description: str):
        return self.panel.locator(".jupyter-widgets.widget-slider").filter(
            has=self.nb.page.locator(".widget-label", has_text=description)).first

    def text(self) -> str:
        return self.status.inner_text()

    def frames(self, seconds: float) -> list[float]:
        """Times (s) of the picture's redraws seen by the browser over `seconds`."""
        times = self.image.evaluate(_COUNT_FRAMES_JS, seconds * 1000)
        return [t / 1000 for t in times]

    def slider_latency(self, description: str, fraction: float, old: str,
                       timeout: float = 30.0) -> float:
        """Drag a slider mid-run; seconds from the mouse's release until the status line
        (drawn with the picture, from the kernel's run.config) no longer shows `old`."""
        self.nb.page.evaluate(_WATCH_LABEL_JS, [self.status.element_handle(), old])
        self.nb.drag(self.slider(description), fraction)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = self.nb.page.evaluate("() => window.__live")
            if live["seen"] is not None:
                return (live["seen"] - live["up"]) / 1000
            time.sleep(0.05)
        raise AssertionError(f"the status line still shows {old!r} {timeout:.0f} s after the "
                             f"{description} slider was released: {self.text()!r}")

    def wait_text(self, predicate, what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"{what}: the status line shows {self.text()!r}")


def rate(times: list[float]) -> float:
    """Redraws per second from their times (0 with fewer than two)."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


def check_live(browser, lab: Lab, name: str, shots: Path, seconds: float = 4.0) -> dict:
    """Run the live notebook and use the widgets as a student does; return what was measured.

    ring8: play, count the redraws, drag n_critic mid-run (the status line, drawn from the
    kernel's run.config, must show the new value without the step count falling back), pause
    (the picture must stop changing), step D, step G, reset. digits: play, count the redraws,
    pause, step. Fails on any behaviour that is wrong; the rates are returned, not judged
    (benchmarks/live.py holds the budgets).
    """
    import re

    with Notebook(browser, lab, name, shots) as nb:
        nb.open()
        nb.run_all()
        toy = LivePanel(nb, 0)
        assert "step 5 " in toy.text() and "n_critic=1," in toy.text(), toy.text()
        toy.panel.screenshot(path=shots / "live_toy_before.png")
        toy.press("play")
        toy.wait_text(lambda t: t.startswith("playing"), "play did not start training")
        toy_fps = rate(toy.frames(seconds))
        step_before = int(re.search(r"step (\d+)", toy.text()).group(1))
        latency = toy.slider_latency("n_critic", 0.5, "n_critic=1,")
        text = toy.text()
        n_critic = int(re.search(r"n_critic=(\d+)", text).group(1))
        assert n_critic > 1 and int(re.search(r"step (\d+)", text).group(1)) >= step_before, (
            f"moving n_critic mid-run should change the running config and keep the steps: "
            f"{text!r}")
        toy.press("pause")
        paused = toy.wait_text(lambda t: t.startswith("paused"), "pause did not stop training")
        src = toy.image.get_attribute("src")
        time.sleep(1.0)
        assert toy.image.get_attribute("src") == src and toy.text() == paused, (
            "the picture still changes after pause")
        d_updates = int(re.search(r"D updates (\d+)", paused).group(1))
        toy.press("step D")
        toy.wait_text(lambda t: f"D updates {d_updates + 1}," in t, "step D did not step D")
        nb.wait_src_change(toy.image, src, timeout=30, what="the picture after step D")
        steps = int(re.search(r"step (\d+)", toy.text()).group(1))
        toy.press("step G")
        toy.wait_text(lambda t: f"step {steps + 1} " in t, "step G did not step G")
        toy.panel.screenshot(path=shots / "live_toy.png")
        toy.press("reset")
        toy.wait_text(lambda t: "step 0 " in t and f"n_critic={n_critic}," in t,
                      "reset did not start again with the knobs as they are")

        digits = LivePanel(nb, 1)
        digits.press("play")
        digits.wait_text(lambda t: t.startswith("playing"), "play did not start on digits")
        digits_rate = rate(digits.frames(seconds))
        digits.press("pause")
        paused = digits.wait_text(lambda t: t.startswith("paused"), "pause on digits")
        steps = int(re.search(r"step (\d+)", paused).group(1))
        digits.press("step G")
        digits.wait_text(lambda t: f"step {steps + 1} " in t, "step G on digits")
        digits.panel.screenshot(path=shots / "live_digits.png")
        nb.raise_errors()
    return {"ring8_fps": toy_fps, "ring8_slider_latency_s": latency,
            "digits_refresh_per_s": digits_rate, "load_average": os.getloadavg()}
