"""Tiny, seeded training configs shared by the tests (CPU, a few steps)."""

from ganlib import preset


def toy(model="wgan-gp", **kw):
    base = dict(steps=6, width=16, batch_size=32, sample_every=3, device="cpu")
    base.update(kw)
    return preset(model, "ring8", **base)


def image(model="dcgan", **kw):
    base = dict(steps=3, width=4, batch_size=8, sample_every=2, device="cpu", n_fixed=8)
    base.update(kw)
    return preset(model, "digits5k", **base)
