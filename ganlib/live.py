"""Live training in the notebook, GAN Lab style: play, pause, step D or G by hand, and move a
knob (clip value, n_critic, λ, the learning rates) while the run goes on.

Taught in 01_mode_collapse (BCE GAN against WGAN-GP on ring8), 04_wgan_clipping (clip value and
n_critic) and 05_wgan_gp (λ). On a 2-D toy the picture is the critic's value over the plane
with G's gradient arrows at the fakes (Kahng et al. 2018's GAN Lab); on images it is the
fixed-noise sample grid. Both have the loss curves beside them.

Drawing is plain numpy and PIL into JPEG bytes for a `widgets.Image`: a matplotlib figure takes
tens of milliseconds, too slow for ten frames a second on a 2-core CPU, and encoding a PNG of the
picture takes about ten times as long as a JPEG (at quality 90, without chroma subsampling, the
thin lines stay sharp). The pure functions
(`toy_picture`, `curves_picture`, `grid_picture`) are what tests and the benchmark call.
"""

from __future__ import annotations

import atexit
import io
import math
import threading
import time
import weakref

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from . import gradients, plotting
from .config import TrainConfig
from .data import load
from .run import make_run
from .train import cpu_threads, critic_step, generator_step, record, train_step

__all__ = ["LiveTraining", "toy_picture", "curves_picture", "grid_picture", "encode",
           "stop_all"]

SIDE = 256  # pixels of the square picture (the plane, or the sample grid) and of the curves
_FONT = ImageFont.load_default()
# PiYG, as in 01's recorded moments: pink where D calls a point fake, green where real
_PIYG = None


def _colormap() -> np.ndarray:
    global _PIYG
    if _PIYG is None:
        from matplotlib import colormaps

        _PIYG = (colormaps["PiYG"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    return _PIYG


def toy_picture(field: dict, modes: torch.Tensor | None = None, arrows: int = 64,
                side: int = SIDE) -> Image.Image:
    """GAN Lab's picture from `gradients.generator_field(...)`: the critic's value as colour,
    the fakes as black dots, G's pull at `arrows` of them as blue arrows, the real modes as red
    crosses.

    D(x) in [0, 1] keeps a fixed colour scale; a critic's raw f(x) is scaled to its own range.
    Arrows are scaled so the longest is a tenth of the picture (their direction and relative
    length are what matters; the mean pull is printed in the status line).
    """
    value, xs = np.asarray(field["value"], dtype=np.float32), np.asarray(field["xs"])
    lo, hi = (0.0, 1.0) if field["label"] == "D(x)" else (float(value.min()), float(value.max()))
    idx = np.clip((value - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
    rgb = _colormap()[idx[::-1]]  # row 0 of the grid is y = -lim: the picture's bottom
    pixels = np.array(Image.fromarray(rgb).resize((side, side), Image.BILINEAR))
    lim = float(xs[-1])

    def px(points: np.ndarray) -> np.ndarray:  # plane -> pixel coordinates, y pointing down
        return np.stack([(points[:, 0] + lim) / (2 * lim) * side,
                         (lim - points[:, 1]) / (2 * lim) * side], axis=1)

    fake, pull = np.asarray(field["fake"]), np.asarray(field["pull"])
    dots = np.round(px(fake)).astype(int)  # each fake a 3x3 black square, set in one go
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            x, y = dots[:, 0] + dx, dots[:, 1] + dy
            inside = (x >= 0) & (x < side) & (y >= 0) & (y < side)
            pixels[y[inside], x[inside]] = 0
    img = Image.fromarray(pixels)
    draw = ImageDraw.Draw(img)
    if modes is not None:
        for x, y in px(modes.detach().cpu().numpy()):
            draw.line([(x - 4, y - 4), (x + 4, y + 4)], fill=(200, 0, 0), width=2)
            draw.line([(x - 4, y + 4), (x + 4, y - 4)], fill=(200, 0, 0), width=2)
    pick = np.linspace(0, len(fake) - 1, min(arrows, len(fake))).astype(int)
    longest = float(np.linalg.norm(pull[pick], axis=1).max()) if len(pick) else 0.0
    if longest > 0:
        start = px(fake[pick])
        vec = pull[pick] / longest * side / 10 * np.array([1, -1])  # y points down in pixels
        for (x, y), (dx, dy) in zip(start, vec, strict=True):
            _arrow(draw, x, y, x + dx, y + dy, (30, 60, 200))
    return img


def _arrow(draw: ImageDraw.ImageDraw, x0, y0, x1, y1, colour) -> None:
    draw.line([(x0, y0), (x1, y1)], fill=colour, width=1)
    length = math.hypot(x1 - x0, y1 - y0)
    if length < 2:
        return
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    head = min(4.0, length / 2)
    for sx in (1, -1):  # two strokes at about 25 degrees either side of the shaft
        draw.line([(x1, y1), (x1 - head * (ux * 0.9 - sx * uy * 0.45),
                              y1 - head * (uy * 0.9 + sx * ux * 0.45))], fill=colour, width=1)


def grid_picture(images: torch.Tensor, side: int = SIDE) -> Image.Image:
    """(N, C, H, W) images in [-1, 1] -> their grid as a square picture `side` pixels wide."""
    grid = Image.fromarray(plotting.image_grid(images))
    return grid.resize((side, side), Image.NEAREST)


CURVE_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]


def curves_picture(panels: list[dict[str, list[float]]], width: int = SIDE,
                   height: int = SIDE, last: int = 1000) -> Image.Image:
    """Stacked line plots, one per dict of named series (NaNs skipped), over their `last`
    values; each with its own y range, printed at its top-left corner, and a legend."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    h = height // max(1, len(panels))
    for p, series in enumerate(panels):
        top, bottom, left, right = p * h + 14, (p + 1) * h - 4, 4, width - 4
        draw.rectangle([left, top, right, bottom], outline=(200, 200, 200))
        values = {k: np.asarray(v[-last:], dtype=float) for k, v in series.items()}
        finite = np.concatenate([v[np.isfinite(v)] for v in values.values()] + [np.zeros(0)])
        legend_x = left
        for c, (name, v) in enumerate(values.items()):
            colour = CURVE_COLOURS[c % len(CURVE_COLOURS)]
            draw.text((legend_x, p * h + 1), name, fill=colour, font=_FONT)
            legend_x += int(draw.textlength(name, font=_FONT)) + 10
            if not len(finite) or len(v) < 2:
                continue
            lo, hi = float(finite.min()), float(finite.max())
            span = hi - lo or 1.0
            xs = left + np.arange(len(v)) / (len(v) - 1) * (right - left)
            ys = bottom - (v - lo) / span * (bottom - top)
            ok = np.isfinite(ys)
            points = list(zip(xs[ok].tolist(), ys[ok].tolist(), strict=True))
            if len(points) > 1:
                draw.line(points, fill=colour, width=1)
        if len(finite):
            draw.text((left + 2, top + 1), f"{finite.max():.3g}", fill=(90, 90, 90), font=_FONT)
            draw.text((left + 2, bottom - 11), f"{finite.min():.3g}", fill=(90, 90, 90),
                      font=_FONT)
    return img


def encode(*pictures: Image.Image) -> bytes:
    """The pictures side by side as JPEG bytes (quick to encode: it is redrawn many times a
    second)."""
    out = Image.new("RGB", (sum(p.width for p in pictures), max(p.height for p in pictures)),
                    "white")
    x = 0
    for p in pictures:
        out.paste(p, (x, 0))
        x += p.width
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=90, subsampling=0)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# The widget
# ----------------------------------------------------------------------------------------------

_LIVE: dict[str, weakref.ref] = {}  # name -> the widget now showing it (re-running a cell)
_ALL: weakref.WeakSet = weakref.WeakSet()  # every live widget, for stop_all


def stop_all() -> None:
    """Stop every live widget's training thread. Run at interpreter exit (a kernel that stops):
    a thread still inside PyTorch then would abort the process."""
    for widget in list(_ALL):
        widget.halt()


atexit.register(stop_all)


class LiveTraining(widgets.VBox):
    """Train a GAN live: play / pause / step D / step G / reset, knobs that act at the next
    step, and a picture redrawn while it trains.

    Training runs in a background thread, not as a task on the kernel's event loop: a step is
    one blocking call into PyTorch, which releases the GIL while it computes, so a thread lets
    the kernel answer slider moves and button presses during a step, whereas a task would hold
    the loop for the whole step; a thread also runs the same in a plain Python session (tests)
    as in a kernel. One lock orders the thread's steps and the knobs' changes, so a knob moved
    mid-run lands between two steps. The thread stops on pause, on reset, on `close`, when a
    new widget with the same `name` is made (re-running the cell) and at interpreter exit (a
    kernel shut down or restarted); it is a daemon, so a killed kernel never waits for it.

    While it plays (and in `step`), PyTorch uses the CPU threads `ganlib.train.train` would
    (`ganlib.speed.pick_threads`: one for a toy), and the count is restored when it stops.
    `fps` caps the pictures per second while playing (15 for a toy, 4 for images by default).
    The learning rates stay as the sliders set them (a preset's `lr_decay` is turned off: live
    training has no budget for it to decay over). `step(n)` trains n steps in the caller's
    thread, for a notebook's static picture and for tests.
    """

    def __init__(self, config: TrainConfig, data=None, name: str | None = None,
                 fps: float | None = None, n_points: int = 256):
        self.key = name or f"{config.model} on {config.data}"
        old = _LIVE.get(self.key)
        if old is not None and old() is not None:
            old().halt()
        _LIVE[self.key] = weakref.ref(self)
        _ALL.add(self)
        self.config = config.replace(lr_decay="none")
        self.data = data if data is not None else load(config.data, size=config.size,
                                                       channels=config.channels)
        self.toy = getattr(self.data, "is_toy", False)
        # pictures per second while playing: a toy's step takes milliseconds, so 15 frames cost
        # little; an image step takes tens, so 4 leave the CPU to training
        self.frame_interval = 1.0 / (fps or (15.0 if self.toy else 4.0))
        self.n_points = n_points
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._redraw = threading.Event()
        self.pull = math.nan  # the mean length of G's arrows at the fakes (toys)
        self.frames = 0  # pictures drawn since the widget was made (the benchmark counts them)
        self.error: BaseException | None = None

        buttons = [("play", "play", self.play), ("pause", "pause", self.pause),
                   ("step D", "step-forward", self.step_critic),
                   ("step G", "step-forward", self.step_generator),
                   ("reset", "refresh", self.reset)]
        self.buttons = {}
        for label, icon, action in buttons:
            b = widgets.Button(description=label, icon=icon,
                               layout=widgets.Layout(width="90px"))
            b.on_click(lambda _b, action=action: action())
            self.buttons[label] = b
        self.sliders = self._make_sliders()
        for key, slider in self.sliders.items():
            slider.observe(lambda change, key=key: self.set(**{key: change["new"]}),
                           names="value")
        self.status = widgets.Label()
        self.image = widgets.Image(format="jpeg", layout=widgets.Layout(width=f"{2 * SIDE}px"))
        self.reset()
        super().__init__([widgets.HBox(list(self.buttons.values())),
                          widgets.HBox(list(self.sliders.values())[:3]),
                          widgets.HBox(list(self.sliders.values())[3:]),
                          self.status, self.image])

    # -- the knobs ------------------------------------------------------------------------------

    def _make_sliders(self) -> dict[str, widgets.Widget]:
        cfg, s = self.config, {}
        style = {"description_width": "60px"}
        common = {"continuous_update": False, "style": style,
                  "layout": widgets.Layout(width="260px")}
        if cfg.clip_value is not None:
            s["clip_value"] = widgets.FloatLogSlider(cfg.clip_value, base=10, min=-3, max=0,
                                                     step=0.1, description="clip c",
                                                     readout_format=".3f", **common)
        if cfg.gp_lambda > 0:
            s["gp_lambda"] = widgets.FloatLogSlider(cfg.gp_lambda, base=10, min=-2, max=2,
                                                    step=0.1, description="λ",
                                                    readout_format=".2f", **common)
        s["n_critic"] = widgets.IntSlider(cfg.n_critic, min=1, max=10, description="n_critic",
                                          **common)
        for key, text in (("lr_g", "lr G"), ("lr_d", "lr D")):
            s[key] = widgets.FloatLogSlider(getattr(cfg, key), base=10, min=-5, max=-1.5,
                                            step=0.1, description=text, readout_format=".1e",
                                            **common)
        return s

    def set(self, **changes) -> None:
        """Change knobs of the running training (config fields: clip_value, n_critic,
        gp_lambda, lr_g, lr_d); they act from the next step, without a restart."""
        with self._lock:
            self.config = self.run.config = self.run.config.replace(**changes)
            for opt, key in ((self.run.opt_g, "lr_g"), (self.run.opt_c, "lr_d")):
                if key in changes:
                    for group in opt.param_groups:
                        group["lr"] = changes[key]
        self._changed()

    # -- the buttons ----------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def play(self) -> None:
        """Train in the background thread until `pause` (or reset, or a new widget)."""
        if self.playing:
            return
        self._stop.clear()
        self.error = None
        self._thread = threading.Thread(target=self._loop, name=f"LiveTraining {self.key}",
                                        daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Stop the thread after its current step, wait for it to end, and redraw."""
        self.halt()
        self.draw()

    def halt(self) -> None:
        """Stop the thread after its current step and wait for it to end (no redraw)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        self._thread = None

    def close(self) -> None:
        """Stop training, then close the widget and its views."""
        self.halt()
        super().close()

    def reset(self) -> None:
        """Stop, and start again from the seed's initial weights with the knobs as they are."""
        self.halt()
        with self._lock:
            self.run = make_run(self.config, self.data)
            self.curves: dict[str, list[float]] = {k: [] for k in self._log_keys()}
            g = torch.Generator().manual_seed(self.config.seed + 1)
            self.z = torch.randn(self.n_points if self.toy else self.config.n_fixed,
                                 self.run.G.z_dim, generator=g)
            self.updates = {"D": 0, "G": 0}  # updates of each net, by hand or in train steps
        self.draw()

    def step(self, n: int = 1) -> None:
        """n training steps (n_critic critic updates and one generator update each) in the
        caller's thread, then one picture."""
        with cpu_threads(self.run, self.data):
            for _ in range(n):
                with self._lock:
                    self._train_step()
        self.draw()

    def step_critic(self) -> None:
        """One critic (discriminator) update on a fresh real batch and fresh fakes; G stays."""
        with self._lock:
            run, cfg = self.run, self.run.config
            real, labels = run.batch(self.data, cfg.batch_size)
            with torch.no_grad():
                fake = run.G(run.randn(len(real), run.G.z_dim), labels)
            numbers = critic_step(run, real, fake, labels)
            self.updates["D"] += 1
            self._append(numbers, None)
        self._changed()

    def step_generator(self) -> None:
        """One generator update against the critic as it is now; the critic stays."""
        with self._lock:
            run, cfg = self.run, self.run.config
            labels = (None if run.G.n_classes is None
                      else run.batch(self.data, cfg.batch_size)[1])
            fake = run.G(run.randn(cfg.batch_size, run.G.z_dim), labels)
            g_loss = generator_step(run, fake, labels)
            run.step += 1
            self.updates["G"] += 1
            self._append(None, g_loss)
        self._changed()

    # -- training and drawing -------------------------------------------------------------------

    def _train_step(self) -> None:
        t0 = time.perf_counter()
        numbers = train_step(self.run, self.data)
        self.run.elapsed += time.perf_counter() - t0
        record(self.run, numbers)
        self.updates["D"] += self.run.config.n_critic
        self.updates["G"] += 1
        self._append(numbers, numbers["g_loss"])

    def _log_keys(self) -> tuple[str, ...]:
        extra = ("wasserstein",) if self.config.loss == "wasserstein" else ("D(real)", "D(fake)")
        return ("d_loss", "g_loss", *extra)

    def _append(self, numbers: dict | None, g_loss) -> None:
        """One row of the curves per update (NaN for the net that did not move)."""
        nan = math.nan
        row = dict.fromkeys(self.curves, nan)
        if g_loss is not None:
            row["g_loss"] = float(g_loss)
        if numbers is not None:
            real, fake = numbers["real_scores"].mean(), numbers["fake_scores"].mean()
            row["d_loss"] = float(numbers["d_loss"])
            if "wasserstein" in row:
                row["wasserstein"] = float(real - fake)
            else:
                row["D(real)"], row["D(fake)"] = float(torch.sigmoid(real)), float(
                    torch.sigmoid(fake))
        for key, value in row.items():
            self.curves[key].append(value)

    def _loop(self) -> None:
        last = 0.0
        try:
            with cpu_threads(self.run, self.data):  # the threads `train` would use
                while not self._stop.is_set():
                    with self._lock:
                        self._train_step()
                    now = time.perf_counter()
                    if self._redraw.is_set() or now - last >= self.frame_interval:
                        self._redraw.clear()
                        last = now  # frames every interval, however long a draw takes
                        self.draw()
        except Exception as e:  # shown in the status line: a thread's traceback goes nowhere
            self.error = e
            self.status.value = f"training stopped: {type(e).__name__}: {e}"

    def _changed(self) -> None:
        """Redraw now when paused; while playing, the thread redraws after its next step."""
        if self.playing:
            self._redraw.set()
        else:
            self.draw()

    def picture(self) -> bytes:
        """JPEG bytes of the run as it is now: the plane (toys) or the sample grid, and the
        curves."""
        with self._lock:
            run = self.run
            if self.toy:
                lim = float(self.data.modes.abs().max()) * 1.6
                fake = run.G.sample(z=self.z)
                # a 32 x 32 grid, smoothed when enlarged: the critic's value is smooth, and
                # this is the costliest part of a frame
                field = gradients.generator_field(run.critic, fake, run.config.loss,
                                                  lim=lim, n=32)
                left = toy_picture(field, self.data.modes)
                self.pull = field["pull_norm"]
            else:
                left = grid_picture(run.G.sample(z=self.z, labels=run.fixed_labels))
            keys = list(self.curves)
            panels = [{k: self.curves[k] for k in keys[:2]}, {k: self.curves[k] for k in keys[2:]}]
            return encode(left, curves_picture(panels))

    def status_text(self) -> str:
        """The status line: the step, the knobs of the running config, and how many frames."""
        cfg = self.run.config
        knobs = [f"n_critic={cfg.n_critic}", f"lr_g={cfg.lr_g:.1e}", f"lr_d={cfg.lr_d:.1e}"]
        if cfg.clip_value is not None:
            knobs.insert(0, f"clip={cfg.clip_value:.3g}")
        if cfg.gp_lambda > 0:
            knobs.insert(0, f"λ={cfg.gp_lambda:.3g}")
        if self.toy:  # the size of the signal G gets, as in 01's recorded moments
            knobs.append(f"mean pull {self.pull:.2g}")
        state = "playing" if self.playing else "paused"
        return (f"{state} · step {self.run.step} (D updates {self.updates['D']}, "
                f"G updates {self.updates['G']}) · {', '.join(knobs)} · frame {self.frames}")

    def draw(self) -> None:
        """Redraw the picture and the status line."""
        self.image.value = self.picture()
        self.frames += 1
        self.status.value = self.status_text()

    def _repr_mimebundle_(self, **kwargs):
        # the live widget where a kernel runs it, and the current picture as an image where none
        # does (an executed notebook on GitHub, nbviewer, a papermill output)
        import base64

        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["image/jpeg"] = base64.b64encode(self.image.value).decode()
        return bundle
