import pytest
import torch

from ganlib.config import preset
from ganlib.models import (
    ConditionalCritic,
    ConditionalGenerator,
    DCGANCritic,
    DCGANGenerator,
    MLPCritic,
    MLPGenerator,
    build_models,
    count_parameters,
)


@pytest.mark.parametrize("size,channels", [(32, 1), (32, 3), (64, 1), (64, 3)])
def test_dcgan_shapes_and_range(size, channels):
    G = DCGANGenerator(z_dim=8, channels=channels, size=size, width=4)
    D = DCGANCritic(channels=channels, size=size, width=4)
    x = G(torch.randn(5, 8))
    assert x.shape == (5, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5,)


def test_dcgan_has_no_sigmoid_and_dcgan_init():
    D = DCGANCritic(width=8)
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in D.modules())
    conv = D.net[0]
    assert abs(conv.weight.std().item() - 0.02) < 0.005
    G = DCGANGenerator(width=8)
    bn = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    assert abs(bn.weight.mean().item() - 1.0) < 0.02


def test_seed_widths_are_one_argument_away():
    # the seed's 64x64 DCGAN filters [1024, 512, 256, 128] are width=128 at size 64
    G = DCGANGenerator(z_dim=100, channels=3, size=64, width=128)
    convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [1024, 512, 256, 128, 3]
    small = DCGANGenerator(z_dim=100, channels=1, size=32, width=32)
    assert [c.out_channels for c in small.modules()
            if isinstance(c, torch.nn.ConvTranspose2d)] == [128, 64, 32, 1]


@pytest.mark.parametrize("norm,kind", [("batch", torch.nn.BatchNorm2d),
                                       ("layer", torch.nn.GroupNorm),
                                       ("instance", torch.nn.InstanceNorm2d)])
def test_critic_norm_choice(norm, kind):
    D = DCGANCritic(width=4, norm=norm)
    assert any(isinstance(m, kind) for m in D.modules())
    if norm != "batch":
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())


def test_layer_norm_critic_scores_are_per_sample():
    # without BatchNorm, a sample's score does not depend on the rest of the batch
    D = DCGANCritic(width=4, norm="layer")
    x = torch.randn(6, 1, 32, 32)
    torch.testing.assert_close(D(x)[:2], D(x[:2]))


def test_unknown_norm_is_a_clear_error():
    with pytest.raises(ValueError, match="critic_norm"):
        DCGANCritic(norm="group")


def test_mlp_toy_and_image():
    G, D = MLPGenerator(2, (2,), 16), MLPCritic((2,), 16)
    pts = G(torch.randn(7, 2))
    assert pts.shape == (7, 2) and D(pts).shape == (7,)
    Gi, Di = MLPGenerator(16, (1, 32, 32), 8), MLPCritic((1, 32, 32), 8)
    img = Gi(torch.randn(3, 16))
    assert img.shape == (3, 1, 32, 32) and img.abs().max() <= 1
    assert Di(img).shape == (3,)


@pytest.mark.parametrize("resnet", [False, True])
def test_conditional_label_changes_output(resnet):
    G = ConditionalGenerator(z_dim=8, n_classes=10, width=4, resnet=resnet)
    D = ConditionalCritic(n_classes=10, width=4)
    z = torch.randn(4, 8)
    a = G.sample(z=z, labels=torch.zeros(4, dtype=torch.long))
    b = G.sample(z=z, labels=torch.ones(4, dtype=torch.long))
    assert a.shape == (4, 1, 32, 32)
    assert not torch.allclose(a, b)
    assert D(a, torch.zeros(4, dtype=torch.long)).shape == (4,)
    with pytest.raises(ValueError, match="labels"):
        G(z)


@pytest.mark.parametrize("resnet", [False, True])
def test_label_embeddings_start_as_loud_as_z_and_pixels(resnet):
    torch.manual_seed(0)
    G = ConditionalGenerator(z_dim=8, n_classes=10, width=4, resnet=resnet)
    D = ConditionalCritic(n_classes=10, width=4)
    for embed in (G.embed, D.embed):
        assert 0.8 < embed.weight.std().item() < 1.2  # N(0, 1), not DCGAN's N(0, 0.02)


def test_sample_restores_mode_and_validates_labels():
    G = ConditionalGenerator(z_dim=8, n_classes=10, width=4)
    G.train()
    x = G.sample(20)
    assert G.training and x.shape == (20, 1, 32, 32) and not x.requires_grad
    with pytest.raises(ValueError, match="0..9"):
        G.sample(3, labels=[1, 2, 10])
    assert G.sample(3, labels=7).shape[0] == 3
    with pytest.raises(ValueError, match="unconditional"):
        MLPGenerator().sample(2, labels=[0, 1])
    for n in (0, -1):  # one sentence, not a raw torch error
        with pytest.raises(ValueError, match=rf"needs a whole number of samples n >= 1 .*n={n}"):
            MLPGenerator().sample(n)


def test_build_models_follows_the_data():
    G, D = build_models(preset("wgan-gp", "ring8"), (2,))
    assert isinstance(G, MLPGenerator) and G.z_dim == 2
    G, D = build_models(preset("gan", "digits5k", width=8), (1, 32, 32))
    assert isinstance(G, MLPGenerator) and isinstance(D, MLPCritic)
    G, D = build_models(preset("dcgan", "digits5k", width=8), (1, 32, 32))
    assert isinstance(G, DCGANGenerator)
    G, D = build_models(preset("cwgan-gp", "digits5k", width=8), (1, 32, 32), 10)
    assert isinstance(G, ConditionalGenerator) and G.n_classes == 10
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())


def test_default_dcgan_is_far_smaller_than_the_seed():
    small = count_parameters(DCGANGenerator(width=32))
    seed = count_parameters(DCGANGenerator(width=256))
    assert seed > 30 * small


def test_dcgan_nets_are_plain_torch_nn():
    G, D = DCGANGenerator(width=4), DCGANCritic(width=4)
    kinds = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    convs = [m for m in [*G.modules(), *D.modules()] if isinstance(m, kinds)]
    assert len(convs) == 8 and all(type(m) in kinds for m in convs)


@pytest.mark.parametrize("net", [DCGANGenerator, DCGANCritic])
def test_a_dcgan_net_refuses_an_image_side_it_is_not_built_for(net):
    # 48 would build a 32x32 net without a word (log2(48) rounds down)
    with pytest.raises(ValueError, match=r"^size must be 32 or 64 \(.*\), got 48$"):
        net(size=48, width=4)
