"""ipywidgets panels: thin layers over pure ganlib functions that tests call directly.

Observers (not `interact`) so an error in a callback is loud; `widgets.Image` (PNG bytes) rather
than `Output` + `plt.show()` so the picture redraws in JupyterLab, nbval and papermill alike;
`continuous_update=False` on every slider that retrains, so a drag trains once, on release.
`quick_toy_wgan` is the seconds-long training run behind `CriticPanel`'s sliders.
`LiveTraining` (play, pause, step D or G, knobs that act mid-run) is in ganlib/live.py.
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import torch
from PIL import Image

from . import gradients, plotting
from .config import preset
from .data import load
from .latent import interpolate, noise_from_seed
from .run import Run
from .train import train


def _png(array) -> bytes:
    img = Image.fromarray(array)
    img = img.resize((img.width * 3, img.height * 3), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def walk_images(G, seed_a: int, seed_b: int, t: float, mode: str = "spherical", n: int = 16,
                label: int | None = None):
    """n images at position t on the walk from seed_a's noise to seed_b's: (n, C, H, W).

    Each seed gives a whole batch of n noise vectors, so n walks run side by side. With a
    conditional G, `label` picks the class and z stays the same whatever the class.
    """
    z = interpolate(noise_from_seed(seed_a, G.z_dim, n), noise_from_seed(seed_b, G.z_dim, n),
                    t, mode)
    labels = None if G.n_classes is None else torch.full((n,), int(label or 0))
    return G.sample(z=z, labels=labels)


def walk_png(G, seed_a: int, seed_b: int, t: float, mode: str = "spherical", n: int = 16,
             label: int | None = None) -> bytes:
    """PNG bytes of `walk_images` as a grid: what the latent-walk widget shows."""
    return _png(plotting.image_grid(walk_images(G, seed_a, seed_b, t, mode, n, label)))


class LatentWalk(widgets.VBox):
    """Two seeds, a slider from one to the other, linear or spherical; the image follows.

    Taught in 03_dcgan; with `classes` (a conditional G) a class selector is added and z
    stays fixed while the class changes (06_conditional_wgan).
    """

    def __init__(self, G, seed_a: int = 0, seed_b: int = 1, n: int = 16,
                 classes: list[str] | None = None):
        self.G, self.n = G, n
        self.seed_a = widgets.BoundedIntText(seed_a, min=0, max=2**31 - 1, description="seed A")
        self.seed_b = widgets.BoundedIntText(seed_b, min=0, max=2**31 - 1, description="seed B")
        self.mode = widgets.ToggleButtons(options=["spherical", "linear"], value="spherical",
                                          description="path")
        self.t = widgets.FloatSlider(0.0, min=0.0, max=1.0, step=0.05, description="A → B",
                                     continuous_update=True, readout_format=".2f")
        self.label = None
        rows: list[widgets.Widget] = [widgets.HBox([self.seed_a, self.seed_b]), self.mode]
        if G.n_classes is not None:
            names = classes or [str(i) for i in range(G.n_classes)]
            options = list(zip(names, range(G.n_classes), strict=False))
            self.label = widgets.ToggleButtons(options=options,
                                               value=0, description="class",
                                               style={"button_width": "36px"})
            rows.append(self.label)
        png = self.render()
        # natural size: JupyterLab would otherwise stretch the grid to the page's width
        width = int.from_bytes(png[16:20], "big")
        self.image = widgets.Image(format="png", value=png,
                                   layout=widgets.Layout(width=f"{width}px"))
        for w in (self.seed_a, self.seed_b, self.mode, self.t, self.label):
            if w is not None:
                w.observe(self.update, names="value")
        super().__init__([*rows, self.t, self.image])

    def render(self) -> bytes:
        label = None if self.label is None else self.label.value
        return walk_png(self.G, self.seed_a.value, self.seed_b.value, self.t.value,
                        self.mode.value, self.n, label)

    def update(self, change=None) -> None:
        self.image.value = self.render()


def quick_toy_wgan(clip_value: float | None = 0.01, gp_lambda: float = 0.0, n_critic: int = 5,
                   data: str = "ring8", steps: int = 300, width: int = 64, seed: int = 0,
                   **overrides) -> Run:
    """A small WGAN on a 2-D toy, clipped (clip_value) or penalised (gp_lambda), in seconds.

    Taught in 04_wgan_clipping and 05_wgan_gp, where `CriticPanel` retrains one per slider move.
    """
    if clip_value is not None and gp_lambda > 0:
        base = preset("wgan-gp", data)
    else:
        base = preset("wgan" if clip_value is not None else "wgan-gp", data)
    config = base.replace(clip_value=clip_value, gp_lambda=gp_lambda, n_critic=n_critic,
                          steps=steps, width=width, seed=seed, device="cpu", **overrides)
    return train(config, load(data), progress=False)


class CriticPanel(widgets.VBox):
    """Sliders that retrain a quick toy WGAN and redraw its critic. Taught in 04 and 05.

    knob='clip': clip value c (log scale, 0.001 to 0.1) and n_critic, RMSProp, as in 04.
    knob='gp': penalty weight λ (log scale, 0.1 to 100) and n_critic, Adam, as in 05.
    """

    def __init__(self, knob: str = "clip", data: str = "ring8", steps: int = 300,
                 n_critic: int = 5, value: float | None = None, seed: int = 0):
        if knob not in ("clip", "gp"):
            raise ValueError(f"knob must be 'clip' or 'gp', got {knob!r}")
        self.knob, self.data, self.steps, self.seed = knob, data, steps, seed
        if knob == "clip":
            self.value = widgets.FloatLogSlider(value or 0.01, base=10, min=-3, max=-1,
                                                step=0.1, description="clip c",
                                                continuous_update=False, readout_format=".3f")
        else:
            self.value = widgets.FloatLogSlider(value or 10.0, base=10, min=-1, max=2,
                                                step=0.1, description="λ",
                                                continuous_update=False, readout_format=".1f")
        self.n_critic = widgets.IntSlider(n_critic, min=1, max=10, description="n_critic",
                                          continuous_update=False)
        self.status = widgets.Label()
        self.image = widgets.Image(format="png")
        self.run = None
        self.update()
        self.value.observe(self.update, names="value")
        self.n_critic.observe(self.update, names="value")
        super().__init__([widgets.HBox([self.value, self.n_critic]), self.status, self.image])

    def train(self):
        """Retrain with the sliders' values (tests can call quick_toy_wgan directly)."""
        if self.knob == "clip":
            return quick_toy_wgan(clip_value=self.value.value, n_critic=self.n_critic.value,
                                  data=self.data, steps=self.steps, seed=self.seed)
        return quick_toy_wgan(clip_value=None, gp_lambda=self.value.value,
                              n_critic=self.n_critic.value, data=self.data, steps=self.steps,
                              seed=self.seed)

    @staticmethod
    def figure(run: Run, title: str | None = None):
        """The panel's picture of a WGAN `run` on a 2-D toy: its critic over the plane, the
        Wasserstein estimate, and its weights (clipped) or its slope at interpolates."""
        cfg, data = run.config, load(run.config.data)
        g = torch.Generator().manual_seed(0)  # the same points (and α) at every redraw
        real, _ = data.sample(400, generator=g)  # (400, 2)
        panel = gradients.critic_panel(run.critic, real, run.G.sample(400, generator=g),
                                       cfg.clip_value, lim=float(data.modes.abs().max()) * 1.6,
                                       generator=g)
        knobs = f"clip c={cfg.clip_value:g}" if cfg.clip_value is not None else \
            f"λ={cfg.gp_lambda:g}"
        return plotting.critic_panel_figure(panel, run.history, title or (
            f"{knobs}, n_critic={cfg.n_critic}, {run.step} steps on {cfg.data}"))

    def update(self, change=None) -> None:
        self.status.value = "training..."
        self.run = self.train()
        fig = self.figure(self.run)
        self.image.value = plotting.fig_to_png(fig, dpi=70)
        plotting.close(fig)
        w = self.run.last("wasserstein")
        self.status.value = (f"{self.run.step} steps in {self.run.elapsed:.1f} s; "
                             f"Wasserstein estimate {w:.3f}")


class TrainingMoments(widgets.VBox):
    """A slider over recorded moments of training that redraws GAN Lab's picture.

    Taught in 01_mode_collapse: `fields` is what `plotting.generator_field_figure` takes, one
    `(step, generator_field(...))` list per model, recorded at the same steps; the slider picks
    the moment and every model's panel at that step is drawn side by side.
    """

    def __init__(self, fields: dict[str, list[tuple[int, dict]]], modes=None, dpi: int = 70):
        lengths = {len(moments) for moments in fields.values()}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError("every model needs the same number (>= 1) of recorded moments; "
                             f"got {({k: len(v) for k, v in fields.items()})}")
        self.fields, self.modes, self.dpi = fields, modes, dpi
        self.steps = [step for step, _ in next(iter(fields.values()))]
        self.moment = widgets.SelectionSlider(options=self.steps, value=self.steps[0],
                                              description="step")
        self.image = widgets.Image(format="png", value=self.render())
        self.moment.observe(self.update, names="value")
        super().__init__([self.moment, self.image])

    def render(self) -> bytes:
        i = self.steps.index(self.moment.value)
        fig = plotting.generator_field_figure(
            {name: [moments[i]] for name, moments in self.fields.items()}, self.modes)
        png = plotting.fig_to_png(fig, dpi=self.dpi)
        plotting.close(fig)
        return png

    def update(self, change=None) -> None:
        self.image.value = self.render()
