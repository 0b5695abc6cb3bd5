"""TrainConfig: every knob of a GAN training run, in one plain dataclass.

Like nanoGPT's GPTConfig, the config is data, not behaviour: the trainer reads it, checkpoints
store it, and the command line and notebooks build it. `preset()` gives the settings each lesson
starts from, so "WGAN-GP" means the same thing in a notebook, on the command line and in the
benchmark.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

MODELS = ("gan", "dcgan", "wgan", "wgan-gp", "cwgan-gp")


@dataclass
class TrainConfig:
    # --- what to train -------------------------------------------------------------------------
    model: str = "wgan-gp"  # gan | dcgan | wgan | wgan-gp | cwgan-gp (see MODELS)
    data: str = "ring8"  # a data set name for ganlib.data.load, or a folder of images
    size: int = 32  # image side (32 or 64); ignored by the 2-D toys
    channels: int | None = None  # 1 or 3; None means the data set's own
    arch: str = "auto"  # auto | mlp | dcgan: auto picks MLPs for toys and `gan`, DCGAN otherwise
    z_dim: int = 0  # latent size; 0 means the preset's (2-D toys: 2... see preset)
    width: int = 0  # base width of both nets; 0 means the preset's (small enough for a CPU)
    critic_norm: str = "batch"  # batch | layer | instance | none (no BatchNorm with a penalty)
    resnet: bool = False  # conditional generator with ResNet-style upsampling blocks
    # --- the game --------------------------------------------------------------------------------
    loss: str = "wasserstein"  # bce (Goodfellow 2014) | wasserstein (Arjovsky 2017)
    g_loss: str = "nonsaturating"  # for bce: nonsaturating | minimax
    n_critic: int = 5  # critic (discriminator) steps per generator step
    clip_value: float | None = None  # WGAN weight clipping to [-c, c]; None = no clipping
    gp_lambda: float = 0.0  # gradient-penalty weight λ (Gulrajani 2017 uses 10); 0 = off
    # --- optimisation -----------------------------------------------------------------------------
    optimizer: str = "adam"  # adam | rmsprop (the WGAN paper's choice with clipping)
    lr_g: float = 1e-4  # generator learning rate
    lr_d: float = 1e-4  # critic/discriminator learning rate
    betas: tuple[float, float] = (0.5, 0.9)  # Adam betas
    lr_decay: str = "none"  # none | linear: both rates fall linearly to 0 over the budget
    batch_size: int = 64  # images (or points) per critic and generator step
    # --- budget and bookkeeping ----------------------------------------------------------------
    steps: int = 1000  # generator steps (the budget when `seconds` is None)
    seconds: float | None = None  # wall-clock budget; when set, overrides `steps` as the stop
    seed: int = 0  # seeds the models' init, the data batches, z and the penalty's α
    device: str = "auto"  # auto (CUDA, then Apple MPS, then CPU) | cpu | cuda | mps
    threads: int = 0  # CPU threads; 0 = auto: the idle cores for images, 1 for toys (threads.py)
    sample_every: int = 100  # keep samples of the fixed noise batch every this many steps
    n_fixed: int = 64  # size of that fixed noise batch
    checkpoint_every: int = 0  # write a checkpoint every this many steps (0: only at the end)
    log_dir: str | None = None  # TensorBoard folder (needs `pip install tensorboard`)
    extra: dict = field(default_factory=dict)  # free-form notes kept with the checkpoint

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (dataclasses.replace, validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in names}
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)


def is_toy(data: str) -> bool:
    """True for the 2-D mixtures, which use MLPs and a 2-D latent space's cousins."""
    return data in ("ring8", "grid25")


def preset(model: str, data: str = "ring8", **overrides) -> TrainConfig:
    """The settings a lesson starts from, for `model` on `data`, with `overrides` on top.

    The numbers are the papers' where they fit a CPU (n_critic 5, clip 0.01 with RMSProp,
    λ = 10 on images with Adam(0.5, 0.9): the betas of Gulrajani et al.'s released code, where
    their Algorithm 1 has β1 = 0), and sized down or retuned where they do not (widths,
    batch sizes; WGAN-GP on the 2-D toys, DCGAN on digits). The toy WGAN-GP and the digit DCGAN
    were tuned for time to quality on a 2-core CPU (`python -m ganlib bench` measures it).
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    toy = is_toy(data)
    base: dict = {"model": model, "data": data}
    if toy:
        base.update(z_dim=2, width=128, batch_size=256, arch="mlp", sample_every=50)
    else:
        base.update(z_dim=64 if model == "gan" else 100, batch_size=64)
        base["width"] = 256 if model == "gan" else 32
        base["arch"] = "mlp" if model == "gan" else "dcgan"
    if model in ("gan", "dcgan"):
        base.update(loss="bce", n_critic=1, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))
        if toy:
            base.update(lr_g=1e-3, lr_d=1e-3)
        elif (model == "dcgan" and overrides.get("size", 32) == 32
              and data.lower().replace("_", "-") in ("digits5k", "mnist", "fashion-mnist")):
            # 32x32 gray digits: half the width ([64, 32, 16] filters) trains 2.1-2.4x more
            # steps per second (2 and 1 threads) and, with twice Radford et al.'s lr, reaches a
            # far lower Fréchet distance in the same minutes (`python -m ganlib bench`). Only
            # tuned at 32x32, so 64x64 keeps the wider default.
            base.update(width=16, lr_g=4e-4, lr_d=4e-4)
    elif model == "wgan":
        base.update(loss="wasserstein", n_critic=5, clip_value=0.01, optimizer="rmsprop",
                    lr_g=5e-5, lr_d=5e-5)
        if toy:
            base.update(lr_g=5e-4, lr_d=5e-4)
    else:  # wgan-gp, cwgan-gp
        base.update(loss="wasserstein", n_critic=5, gp_lambda=10.0, betas=(0.5, 0.9),
                    lr_g=1e-4, lr_d=1e-4, critic_norm="layer")
        if toy:
            # Tuned for the time until every mode is captured with >= 80 % high-quality
            # samples (`python -m ganlib bench --only toys`): λ = 10 never gets there on ring8
            # (σ = 0.01); λ = 0.1 is what Gulrajani et al.'s own toy script uses. One critic
            # step with a 3x faster critic (the two time-scale rule, Heusel et al. 2017) makes
            # as much progress per generator step as five, at a quarter of the cost. grid25
            # spans ±4, so its G needs a 4x larger lr to grow that far.
            base.update(n_critic=1, gp_lambda=0.1, lr_g=1e-4, lr_d=3e-4, critic_norm="none")
            if data == "grid25":
                base.update(lr_g=4e-4, lr_d=1.2e-3)
        else:
            # Images on a CPU budget: two critic steps and lr 5e-4, where a fast start pays and
            # the penalty keeps it stable (measured with 06's 400 steps: the judge's Fréchet
            # distance 162 at 5e-4 against 595 at 2e-4, label accuracy 0.72 against 0.71)
            base.update(lr_g=5e-4, lr_d=5e-4, n_critic=2)
    base.update(overrides)
    return TrainConfig(**base)


def check_config(config: TrainConfig) -> None:
    """Fail fast, before any model is built, with a sentence that says what to change."""
    c = config
    if c.model not in MODELS:
        raise ValueError(f"unknown model {c.model!r}; choose one of {', '.join(MODELS)}")
    if c.arch not in ("auto", "mlp", "dcgan"):
        raise ValueError(f"unknown arch {c.arch!r}; choose auto, mlp or dcgan")
    if c.loss not in ("bce", "wasserstein"):
        raise ValueError(f"unknown loss {c.loss!r}; choose bce or wasserstein")
    if c.g_loss not in ("nonsaturating", "minimax"):
        raise ValueError(f"unknown g_loss {c.g_loss!r}; choose nonsaturating or minimax")
    if c.optimizer not in ("adam", "rmsprop"):
        raise ValueError(f"unknown optimizer {c.optimizer!r}; choose adam or rmsprop")
    if c.critic_norm not in ("batch", "layer", "instance", "none"):
        raise ValueError(f"unknown critic_norm {c.critic_norm!r}; "
                         "choose batch, layer, instance or none")
    if not isinstance(c.n_critic, int) or c.n_critic < 1:
        raise ValueError(f"n_critic must be a whole number >= 1 (critic steps per generator "
                         f"step), got {c.n_critic!r}")
    if c.clip_value is not None and not c.clip_value > 0:
        raise ValueError(f"clip_value must be > 0 (weights are clipped to [-c, c]) or None to "
                         f"turn clipping off, got {c.clip_value!r}")
    if c.gp_lambda < 0:
        raise ValueError(f"gp_lambda must be >= 0 (0 turns the gradient penalty off), "
                         f"got {c.gp_lambda!r}")
    if c.loss == "bce" and (c.gp_lambda > 0 or c.clip_value is not None):
        raise ValueError("clipping and the gradient penalty belong to the Wasserstein loss; "
                         "set loss='wasserstein' or drop clip_value/gp_lambda")
    if c.lr_decay not in ("none", "linear"):
        raise ValueError(f"unknown lr_decay {c.lr_decay!r}; choose none or linear")
    for name in ("lr_g", "lr_d"):
        if not getattr(c, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(c, name)!r}")
    if not isinstance(c.batch_size, int) or c.batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {c.batch_size!r}")
    if c.seconds is None and (not isinstance(c.steps, int) or c.steps < 1):
        raise ValueError(f"steps must be a whole number >= 1, got {c.steps!r}")
    if c.seconds is not None and not c.seconds > 0:
        raise ValueError(f"seconds must be > 0, got {c.seconds!r}")
    if c.size not in (32, 64):
        raise ValueError(f"size must be 32 or 64 (the DCGAN nets are built for those), "
                         f"got {c.size!r}")
    if c.channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {c.channels!r}")
    if c.z_dim < 0 or c.width < 0:
        raise ValueError("z_dim and width must be >= 1 (or 0 for the preset's)")
    if c.threads < 0:
        raise ValueError(f"threads must be >= 0 (0 picks for you), got {c.threads!r}")
    if c.sample_every < 1 or c.n_fixed < 1:
        raise ValueError("sample_every and n_fixed must be >= 1")
    if c.device not in ("auto", "cpu", "cuda", "mps") and not c.device.startswith("cuda:"):
        raise ValueError(f"unknown device {c.device!r}; choose auto, cpu, cuda or mps")
    if c.model == "cwgan-gp" and is_toy(c.data):
        raise ValueError("cwgan-gp needs labelled images (e.g. data='digits5k'), not a 2-D toy")
