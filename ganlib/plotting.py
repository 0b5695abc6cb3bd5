"""Pure functions that draw tensors and histories into matplotlib Figures (and GIF bytes).

They compute nothing but the picture: the numbers come from `ganlib.gradients`,
`ganlib.metrics` and the run's history, and no network is called here.

Figures are made with `matplotlib.figure.Figure`, not pyplot, so nothing is drawn twice or kept
alive by a global figure manager; in a notebook (after `%matplotlib inline`) a returned Figure
shows itself, and on the command line it is saved. Tests call these functions directly.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor


def close(fig: Figure) -> None:
    """Free a figure's memory (Figures made here are not tracked by pyplot)."""
    fig.clear()


def fig_to_png(fig: Figure, dpi: int = 80) -> bytes:
    """PNG bytes of a figure, for `ipywidgets.Image` and files."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def image_grid(images: Tensor, nrow: int | None = None) -> np.ndarray:
    """(N, C, H, W) images in [-1, 1] -> one (H', W', 3) uint8 array, via torchvision's grid."""
    import torchvision

    images = images.detach().float().cpu()
    nrow = nrow or max(1, int(math.ceil(math.sqrt(images.shape[0]))))
    grid = torchvision.utils.make_grid(images, nrow=nrow, padding=2, pad_value=1.0,
                                       normalize=True, value_range=(-1, 1))
    return (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def _evenly_spaced(count: int, k: int) -> np.ndarray:
    """The indices of (at most) k items evenly spaced over `count`, first and last included."""
    return np.unique(np.linspace(0, count - 1, min(k, count)).round().astype(int))


def _draw(ax, samples: Tensor, modes: Tensor | None = None, nrow: int | None = None,
          lim: float | None = None) -> None:
    samples = samples.detach().float().cpu()
    if samples.dim() == 4:
        ax.imshow(image_grid(samples, nrow), interpolation="nearest")
        ax.axis("off")
        return
    pts = samples.numpy()
    ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.5, color="tab:blue", label="generated")
    if modes is not None:
        m = modes.cpu().numpy()
        ax.scatter(m[:, 0], m[:, 1], s=40, marker="x", color="tab:red", label="modes")
        lim = lim or float(np.abs(m).max()) * 1.5
    if lim:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")


def samples_figure(samples: Tensor, title: str | None = None, modes: Tensor | None = None,
                   nrow: int | None = None, size: float = 4.0) -> Figure:
    """A grid of images, or a scatter of 2-D points with the true modes marked."""
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    _draw(ax, samples, modes, nrow)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def real_vs_fake(real: Tensor, fake: Tensor, modes: Tensor | None = None,
                 size: float = 3.5) -> Figure:
    """Real data on the left, generated samples on the right, on the same scale."""
    fig = Figure(figsize=(2 * size, size))
    for ax, x, name in zip(fig.subplots(1, 2), (real, fake), ("real", "generated"), strict=True):
        _draw(ax, x, modes)
        ax.set_title(name)
    fig.tight_layout()
    return fig


def snapshots_strip(snapshots: list[tuple[int, Tensor]], n: int = 6,
                    modes: Tensor | None = None, size: float = 2.2,
                    values: list[str] | None = None, nrow: int | None = None) -> Figure:
    """`n` evenly spaced snapshots of the fixed-noise samples, left to right over training.

    Images: the first 36 of each snapshot, `nrow` to a row (default: a square grid).
    """
    idx = _evenly_spaced(len(snapshots), n)
    fig = Figure(figsize=(size * len(idx), size + 0.3))
    axes = np.atleast_1d(fig.subplots(1, len(idx)))
    for j, (ax, i) in enumerate(zip(axes, idx, strict=True)):
        step, x = snapshots[i]
        _draw(ax, x[:36] if x.dim() == 4 else x, modes, nrow)
        ax.set_title(f"step {step}" + (f"\n{values[j]}" if values else ""), fontsize=9)
        if x.dim() == 2:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def coverage_figure(recorders: dict[str, Any], n_modes: int,
                    title: str | None = None) -> Figure:
    """Modes captured (left) and the high-quality share (right) over training, one line per run.

    Taught in 01_mode_collapse: a collapsing generator's curve stays low or jumps up and down
    as it hops between modes; a generator that spreads out climbs to `n_modes` and stays there.
    Each recorder is a `ganlib.metrics.CoverageRecorder` (its lists `steps`, `modes_captured`
    and `high_quality` are what is drawn).
    """
    fig = Figure(figsize=(9, 3.2))
    left, right = fig.subplots(1, 2)
    for name, rec in recorders.items():
        left.plot(rec.steps, rec.modes_captured, marker=".", label=name)
        right.plot(rec.steps, [100 * h for h in rec.high_quality], marker=".", label=name)
    left.axhline(n_modes, color="gray", ls="--", lw=1)
    left.set_ylim(0, n_modes + 1)
    left.set_ylabel("modes captured")
    right.set_ylim(0, 100)
    right.set_ylabel("high-quality samples (%)")
    for ax in (left, right):
        ax.set_xlabel("generator step")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def coverage_strip(snapshots: list[tuple[int, Tensor]], recorder: Any,
                   modes: Tensor, k: int = 6, size: float = 2.2) -> Figure:
    """`k` evenly spaced fixed-noise scatters over training, each titled with its modes captured.

    Taught in 01_mode_collapse. `snapshots` is a run's `(step, (n, 2) points)` list; a panel's
    score is the `ganlib.metrics.CoverageRecorder`'s at the same step (blank where it recorded
    nothing, e.g. step 0).
    """
    if not snapshots:
        raise ValueError("no snapshots to draw; train for at least one step")
    idx = _evenly_spaced(len(snapshots), k)
    picked = [snapshots[i] for i in idx]
    score = dict(zip(recorder.steps, recorder.modes_captured, strict=True))
    n_modes = len(modes)
    labels = [f"{score[s]}/{n_modes} modes" if s in score else "" for s, _ in picked]
    return snapshots_strip(picked, n=len(picked), modes=modes, size=size, values=labels)


def smooth(values, window: int = 50) -> np.ndarray:
    """Moving average (NaNs ignored) so a noisy loss curve shows its trend."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return v
    window = max(1, min(window, len(v)))
    ok = ~np.isnan(v)
    num = np.convolve(np.where(ok, v, 0.0), np.ones(window), mode="full")[: len(v)]
    den = np.convolve(ok.astype(float), np.ones(window), mode="full")[: len(v)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def loss_curves(history: dict, keys: tuple[str, ...] = ("d_loss", "g_loss"),
                window: int = 50, title: str | None = None, ax=None) -> Figure:
    """Each key per step (faint) and smoothed (bold), against the generator step."""
    fig = None
    if ax is None:
        fig = Figure(figsize=(6, 3.2))
        ax = fig.subplots()
    steps = history["step"]
    for key in keys:
        values = np.asarray(history[key], dtype=float)
        if np.isnan(values).all():
            continue
        line = ax.plot(steps, values, alpha=0.25, lw=0.8)[0]
        ax.plot(steps, smooth(values, window), color=line.get_color(), lw=2, label=key)
    ax.set_xlabel("generator step")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure


def _frame(x: Tensor, modes: Tensor | None, step: int, nrow: int | None = None) -> Image.Image:
    if x.dim() == 4:
        img = Image.fromarray(image_grid(x.float(), nrow))
        return img.resize((img.width * 2, img.height * 2), Image.NEAREST)
    fig = samples_figure(x, title=f"step {step}", modes=modes, size=3)
    img = Image.open(io.BytesIO(fig_to_png(fig, dpi=70))).convert("RGB")
    close(fig)
    return img


def snapshots_gif(snapshots: list[tuple[int, Tensor]], modes: Tensor | None = None,
                  max_frames: int = 40, ms_per_frame: int = 250,
                  nrow: int | None = None) -> bytes:
    """An animated GIF (bytes) of the fixed-noise samples over training.

    Image frames are grids with `nrow` images to a row (default: square). A GIF of many
    frames of many images is megabytes: pass fewer images per snapshot or fewer frames.
    """
    if not snapshots:
        raise ValueError("no snapshots to animate; train for at least one step")
    idx = _evenly_spaced(len(snapshots), max_frames)
    frames = [_frame(snapshots[i][1], modes, snapshots[i][0], nrow) for i in idx]
    size = frames[0].size
    frames = [f.resize(size) for f in frames]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=ms_per_frame, loop=0)
    return buf.getvalue()


def show_gif(gif: bytes):
    """Display GIF bytes inline in a notebook (the animation plays in the saved notebook too)."""
    from IPython.display import Image as IPImage

    return IPImage(data=gif, format="gif")


def critic_landscape(xs: Tensor, values: Tensor, points: Tensor | None = None,
                     real: Tensor | None = None, title: str | None = None, ax=None) -> Figure:
    """The critic's value f(x) over the plane (2-D toys), with real and generated points.

    Taught in 04_wgan_clipping: a good critic is high on the data and low on the fakes, and
    its slope is bounded (Lipschitz) everywhere. `xs` (n,) and `values` (n, n) are what
    `ganlib.gradients.critic_values` returns.
    """
    fig = None
    if ax is None:
        fig = Figure(figsize=(4.2, 3.6))
        ax = fig.subplots()
    xs, values = np.asarray(xs), np.asarray(values)
    im = ax.contourf(xs, xs, values, levels=20, cmap="viridis")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="critic value f(x)")
    if real is not None:
        r = real.cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=4, color="white", label="real")
    if points is not None:
        p = points.cpu().numpy()
        ax.scatter(p[:, 0], p[:, 1], s=4, color="tab:red", label="generated")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(xs[0], xs[-1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure


def histogram(values, bins: int = 60, title: str | None = None, xlabel: str | None = None,
              marks: tuple[float, ...] = (), ax=None) -> Figure:
    """A histogram with optional vertical marks (±c for clipped weights, 1 for grad norms)."""
    fig = None
    if ax is None:
        fig = Figure(figsize=(4.2, 3.0))
        ax = fig.subplots()
    v = torch.as_tensor(values).detach().float().flatten().cpu().numpy()
    ax.hist(v, bins=bins, color="tab:blue", alpha=0.8)
    for m in marks:
        ax.axvline(m, color="tab:red", ls="--", lw=1)
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure


def critic_panel_figure(panel: dict, history: dict, title: str | None = None) -> Figure:
    """Landscape | Wasserstein estimate | weights at ±c (clip) or gradient norms (penalty).

    Taught in 04_wgan_clipping and 05_wgan_gp: the picture `ganlib.widgets.CriticPanel` redraws
    each time its sliders retrain a quick toy WGAN. `panel` is what
    `ganlib.gradients.critic_panel` returns; `history` is the run's (its "wasserstein" and,
    when clipped, "w_at_clip" lists).
    """
    fig = Figure(figsize=(13, 3.6))
    a1, a2, a3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1, 1]})
    critic_landscape(panel["xs"], panel["value"], points=panel["fake"], real=panel["real"],
                     ax=a1, title="critic value f(x)")
    loss_curves(history, keys=("wasserstein",), window=25, ax=a2,
                title="Wasserstein estimate E[f(real)] - E[f(fake)]")
    if "weights" in panel:
        c = panel["clip_value"]
        at = history["w_at_clip"][-1]
        histogram(panel["weights"], ax=a3, marks=(-c, c),
                  title=f"critic weights ({at:.0%} at ±c)", xlabel="weight")
    else:
        norms = panel["norms"]
        histogram(norms, ax=a3, marks=(1.0,), xlabel="‖∇f(x̂)‖",
                  title=f"gradient norms at interpolates (mean {norms.mean():.2f})")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def sweep_figure(values: list[float], results: list[dict], keys: tuple[str, ...],
                 samples: list[Tensor] | None = None, modes: Tensor | None = None,
                 knob: str = "clip value c", title: str | None = None,
                 log_keys: tuple[str, ...] = ()) -> Figure:
    """A knob sweep at a glance: each run's samples on top, each metric against the knob below.

    Taught in 04_wgan_clipping (the clip value) and usable for 05's λ. `results[i][key]` is
    the metric `key` of the run with knob value `values[i]`; the knob axis is logarithmic, and
    so is the value axis of the metrics named in `log_keys` (those spanning decades).
    """
    if len(values) != len(results) or (samples is not None and len(samples) != len(values)):
        raise ValueError(f"need one result (and one sample set) per knob value: got "
                         f"{len(values)} values, {len(results)} results"
                         + ("" if samples is None else f", {len(samples)} sample sets"))
    missing = [k for k in keys if any(k not in r for r in results)]
    if missing:
        raise ValueError(f"the results lack the keys {missing}; each dict needs {list(keys)}")
    n = len(values)
    fig = Figure(figsize=(max(2.0 * n, 3.2 * len(keys)), 5.6 if samples is not None else 3.0),
                 layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.1]) if samples is not None else (
        None, fig)
    if samples is not None:
        for ax, v, x in zip(np.atleast_1d(top.subplots(1, n)), values, samples, strict=True):
            _draw(ax, x, modes)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{knob.split()[-1]}={v:g}", fontsize=9)
    for ax, key in zip(np.atleast_1d(bottom.subplots(1, len(keys))), keys, strict=True):
        ax.plot(values, [float(r[key]) for r in results], "o-")
        ax.set_xscale("log")
        if key in log_keys:
            ax.set_yscale("log")
        ax.set_xlabel(knob)
        ax.set_title(key, fontsize=10)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def class_rows_figure(images: Tensor, row_names: list[str] | None = None,
                      col_names: list[str] | None = None, title: str | None = None,
                      cell: float = 0.55) -> Figure:
    """(K, n, C, H, W) images -> one grid with a labelled row per class. Taught in 06.

    Rows are classes (0-9 for digits), columns samples; with `ganlib.latent.class_sweep` a
    column is one fixed z drawn as every class.
    """
    if images.dim() != 5:
        raise ValueError(f"class_rows_figure expects (K, n, C, H, W) images, got shape "
                         f"{tuple(images.shape)}; reshape with images.view(K, n, C, H, W)")
    k, n, _, h, w = images.shape
    grid = image_grid(images.flatten(0, 1), nrow=n)  # make_grid pads every cell by 2 pixels
    fig = Figure(figsize=(cell * n + 0.8, cell * k + (0.5 if title else 0.2)))
    ax = fig.subplots()
    ax.imshow(grid, interpolation="nearest")
    ax.set_yticks([2 + i * (h + 2) + h / 2 for i in range(k)],
                  row_names if row_names is not None else [str(i) for i in range(k)])
    if col_names is not None:
        ax.set_xticks([2 + j * (w + 2) + w / 2 for j in range(n)], col_names, fontsize=8)
    else:
        ax.set_xticks([])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def generator_field_figure(fields: dict[str, list[tuple[int, dict]]],
                           modes: Tensor | None = None, arrows: int = 60,
                           size: float = 2.8) -> Figure:
    """GAN Lab's picture: one row per model, one column per moment of training.

    Taught in 01_mode_collapse. Each panel is the discriminator's D(x) (or the critic's f(x))
    over the plane, the fake points, and arrows at `arrows` of them showing where G's loss
    pulls them; the title gives the mean pull. `fields[name]` is a list of
    `(step, ganlib.gradients.generator_field(...))`, the same number of moments for every model.
    """
    if not fields or any(not moments for moments in fields.values()):
        raise ValueError("fields needs at least one model with at least one recorded moment; "
                         "record generator_field(...) during training first")
    n_cols = max(len(moments) for moments in fields.values())
    fig = Figure(figsize=(size * n_cols + 0.6, size * len(fields)), layout="constrained")
    axes = np.array(fig.subplots(len(fields), n_cols, squeeze=False))
    for row, (name, moments) in zip(axes, fields.items(), strict=True):
        for ax, (step, f) in zip(row, moments, strict=False):
            xs, value = f["xs"], f["value"]
            im = ax.contourf(xs, xs, value, levels=20, cmap="PiYG")
            pick = _evenly_spaced(len(f["fake"]), arrows)
            ax.scatter(f["fake"][:, 0], f["fake"][:, 1], s=3, color="black", alpha=0.6)
            ax.quiver(f["fake"][pick, 0], f["fake"][pick, 1], f["pull"][pick, 0],
                      f["pull"][pick, 1], color="tab:blue", width=0.006)
            if modes is not None:
                m = modes.cpu().numpy()
                ax.scatter(m[:, 0], m[:, 1], s=30, marker="x", color="tab:red")
            ax.set_xlim(xs[0], xs[-1])
            ax.set_ylim(xs[0], xs[-1])
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name}, step {step}\nmean pull {f['pull_norm']:.2g}", fontsize=9)
        fig.colorbar(im, ax=list(row), shrink=0.8, label=moments[-1][1]["label"])
        for ax in row[len(moments):]:
            ax.axis("off")
    return fig
