"""TrainConfig: every knob of a GAN training run, in one plain dataclass.

Like nanoGPT's GPTConfig, the config is data, not behaviour: the trainer reads it, checkpoints
store it, and the command line and notebooks build it. `preset()` gives the settings each lesson
starts from, so "WGAN-GP" means the same thing in a notebook, on the command line and in the
benchmark.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from .models import check_image_size

MODELS = ("gan", "dcgan", "wgan", "wgan-gp", "cwgan-gp")
# the data sets known by name (ganlib.data loads them; anything else is a folder of images)
TOY_NAMES = ("ring8", "grid25")  # 2-D mixtures: MLPs and a 2-D latent space
IMAGE_NAMES = ("digits5k", "mnist", "fashion-mnist")  # 28x28 gray digits and clothes


@dataclass(frozen=True)
class TrainConfig:
    # --- what to train -------------------------------------------------------------------------
    model: str = "wgan-gp"  # gan | dcgan | wgan | wgan-gp | cwgan-gp (see MODELS)
    data: str = "ring8"  # a data set name for ganlib.data.load, or a folder of images
    size: int = 32  # image side (32 or 64); ignored by the 2-D toys
    channels: int | None = None  # 1 or 3; None means the data set's own
    arch: str = "auto"  # auto | mlp | dcgan: auto picks MLPs for toys and `gan`, DCGAN otherwise
    z_dim: int = 2  # latent size (preset() picks it per model and data)
    width: int = 128  # base width of both nets (preset() picks one that trains fast on a CPU)
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
    threads: int = 0  # CPU threads; 0 = auto: the idle cores for images, 1 for toys (speed.py)
    sample_every: int = 100  # keep samples of the fixed noise batch every this many steps
    n_fixed: int = 64  # size of that fixed noise batch
    checkpoint_every: float = 60.0  # seconds of training between checkpoints (0: at the end)
    log_dir: str | None = None  # TensorBoard folder (needs `pip install tensorboard`)
    fast: bool = True  # CPU speed tricks (ganlib/speed.py): same maths; False turns them off
    amp: bool = False  # bfloat16 autocast of the nets' forward passes (GPUs; speed.py)
    compile: bool = False  # torch.compile the nets (not a penalised critic; speed.py)
    extra: dict = field(default_factory=dict)  # free-form notes kept with the checkpoint

    def __post_init__(self):
        check_config(self)  # checked once, where a config enters; frozen from then on

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
    """True for the 2-D mixtures, which use MLPs and a 2-D latent space."""
    return data in TOY_NAMES


def is_named_set(data: str) -> bool:
    """True for the built-in digit and clothing sets (28x28 gray), not a folder of photos."""
    return data.lower().replace("_", "-") in IMAGE_NAMES


def preset(model: str, data: str = "ring8", **overrides) -> TrainConfig:
    """The settings a lesson starts from, for `model` on `data`, with `overrides` on top.

    The numbers are the papers' where they fit a CPU (n_critic 5, clip 0.01 with RMSProp,
    λ = 10 on images), and sized down or retuned where they do not (widths, batch sizes; WGAN-GP
    on the 2-D toys, DCGAN on digits), tuned for time to quality on a 2-core CPU (the benchmark
    in benchmarks/ measures it; docs/performance.md has the figures). WGAN-GP uses Adam with
    betas (0.5, 0.9), the values of Gulrajani et al.'s released code, with which these presets
    were tuned; their Algorithm 1 writes β1 = 0, one override away (`betas=(0.0, 0.9)`).
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
        if model != "gan" and overrides.get("size", 32) == 64 and not is_named_set(data):
            # 64x64 photos (faces, as in the DCGAN and WGAN-GP papers): the PyTorch DCGAN
            # example's nets, ngf = ndf = 64, i.e. [512, 256, 128, 64] filters
            base["width"] = 64
    if model in ("gan", "dcgan"):
        base.update(loss="bce", n_critic=1, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))
        if toy:
            base.update(lr_g=1e-3, lr_d=1e-3)
        elif model == "dcgan" and overrides.get("size", 32) == 32 and is_named_set(data):
            # 32x32 gray digits: half the width trains about twice the steps per second and,
            # with twice Radford et al.'s lr, reaches a far lower Fréchet distance in the same
            # minutes. Tuned only at 32x32, so 64x64 keeps the wider default.
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
            # Tuned for every mode captured with >= 80 % high-quality samples: λ = 10 never
            # gets there on ring8 (σ = 0.01); λ = 0.1 is what Gulrajani et al.'s own toy
            # script uses. One critic step with a 3x faster critic (the two time-scale rule,
            # Heusel et al. 2017) makes as much progress per generator step as five, at a
            # quarter of the cost.
            base.update(n_critic=1, gp_lambda=0.1, critic_norm="none")
            if data == "grid25":
                # grid25 (25 modes over ±4) keeps the constant rates it was tuned with
                base.update(lr_g=4e-4, lr_d=1.2e-3)
            else:
                # ring8's modes are 3σ = 0.03 wide: large steps bring the samples to the ring
                # fast, and rates falling to 0 over the budget let them settle inside the
                # modes (at a constant rate this large they keep jumping out again). The decay
                # spans the budget, so the budget is part of the setting: 3,000 steps.
                base.update(lr_g=2e-3, lr_d=6e-3, lr_decay="linear", steps=3000)
        else:
            # Images on a CPU budget: two critic steps and lr 5e-4, where a fast start pays and
            # the penalty keeps it stable
            base.update(lr_g=5e-4, lr_d=5e-4, n_critic=2)
    base.update(overrides)
    return TrainConfig(**base)


def check_config(config: TrainConfig) -> None:
    """Fail fast, before any model is built, with a sentence that says what to change.

    TrainConfig runs it when it is made, so a config that exists is a valid one.
    """
    c = config
    if c.model not in MODELS:
        raise ValueError(f"unknown model {c.model!r}; choose one of {', '.join(MODELS)}")
    for name, allowed in (("arch", ("auto", "mlp", "dcgan")), ("loss", ("bce", "wasserstein")),
                          ("g_loss", ("nonsaturating", "minimax")),
                          ("optimizer", ("adam", "rmsprop")),
                          ("critic_norm", ("batch", "layer", "instance", "none")),
                          ("lr_decay", ("none", "linear"))):
        if getattr(c, name) not in allowed:
            raise ValueError(f"unknown {name} {getattr(c, name)!r}; choose "
                             f"{', '.join(allowed[:-1])} or {allowed[-1]}")
    for name, low in (("n_critic", 1), ("batch_size", 1), ("z_dim", 1), ("width", 1),
                      ("threads", 0), ("sample_every", 1), ("n_fixed", 1),
                      ("seed", 0)):
        value = getattr(c, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    if c.seconds is None and (isinstance(c.steps, bool) or not isinstance(c.steps, int)
                              or c.steps < 1):
        raise ValueError(f"steps must be a whole number >= 1, got {c.steps!r}")
    if c.clip_value is not None and not (math.isfinite(c.clip_value) and c.clip_value > 0):
        raise ValueError(f"clip_value must be a finite number > 0 (weights are clipped to "
                         f"[-c, c]) or None to turn clipping off, got {c.clip_value!r}")
    if not (isinstance(c.checkpoint_every, int | float) and math.isfinite(c.checkpoint_every)
            and c.checkpoint_every >= 0):
        raise ValueError(f"checkpoint_every must be a finite number of seconds >= 0 (0: only "
                         f"at the end), got {c.checkpoint_every!r}")
    if not (math.isfinite(c.gp_lambda) and c.gp_lambda >= 0):
        raise ValueError(f"gp_lambda must be a finite number >= 0 (0 turns the gradient "
                         f"penalty off), got {c.gp_lambda!r}")
    for name in ("lr_g", "lr_d") + (("seconds",) if c.seconds is not None else ()):
        value = getattr(c, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if c.loss == "bce" and (c.gp_lambda > 0 or c.clip_value is not None):
        raise ValueError("clipping and the gradient penalty belong to the Wasserstein loss; "
                         "set loss='wasserstein' or drop clip_value/gp_lambda")
    check_image_size(c.size)
    if c.channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {c.channels!r}")
    if c.device not in ("auto", "cpu", "cuda", "mps") and not c.device.startswith("cuda:"):
        raise ValueError(f"unknown device {c.device!r}; choose auto, cpu, cuda or mps")
    convolutional = c.model == "cwgan-gp" or c.arch == "dcgan" or (
        c.arch == "auto" and c.model != "gan" and not is_toy(c.data))  # as models.build_models
    if c.gp_lambda > 0 and c.critic_norm == "batch" and convolutional:
        raise ValueError(f"critic_norm batch cannot go with the gradient penalty (gp_lambda "
                         f"{c.gp_lambda:g}): the penalty is per sample and BatchNorm mixes the "
                         "samples of a batch; use critic_norm layer or instance")
