"""One contract for every flow layer, subnet, fractal level and whole model.

Each is checked with perturbed weights (the subnets start at zero, which would make every
coupling the identity): inverse(forward(x)) == x, the log-det equals log|det| of the
autograd Jacobian, gradients are finite, and a save/load round trip reproduces the outputs.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from seisflow.models import FlowConfig, build_flow
from seisflow.models.coupling import AffineCoupling
from seisflow.models.fractal import FractalCoupling, fold, unfold
from seisflow.models.layers import ActNorm, InvConv1x1, Logit, Squeeze

torch.set_default_dtype(torch.float32)
SUBNETS = ["cnn", "mlp", "kan"]


def perturb(module: torch.nn.Module, seed: int = 0, scale: float = 0.1) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return module


LAYERS = {
    "actnorm": (lambda: ActNorm(3), (3, 4, 4), 0),
    "squeeze": (lambda: Squeeze(), (2, 4, 4), 0),
    "conv1x1": (lambda: InvConv1x1(3), (3, 4, 4), 0),
    "logit": (lambda: Logit(), (2, 4, 4), 0),
    **{
        f"checkerboard-{s}-{p}": (
            lambda s=s, p=p: AffineCoupling(
                2, (4, 4), mask="checkerboard", parity=p, subnet=s, width=6
            ),
            (2, 4, 4),
            0,
        )
        for s in SUBNETS
        for p in (0, 1)
    },
    **{
        f"channel-{s}": (
            lambda s=s: AffineCoupling(
                3, (4, 4), mask="channel", parity=1, subnet=s, width=6, cond_channels=2
            ),
            (3, 4, 4),
            2,
        )
        for s in SUBNETS
    },
    **{
        f"fractal-{level}-{s}": (
            lambda level=level, s=s: FractalCoupling(level, 1, (8, 8), depth=2, subnet=s, width=4),
            (1, 8, 8),
            0,
        )
        for level in (0, 1, 2)
        for s in SUBNETS
    },
}


def make(name: str):
    factory, shape, cond_channels = LAYERS[name]
    torch.manual_seed(1)
    layer = factory().double()
    x = torch.rand(5, *shape, dtype=torch.float64) * 0.8 + 0.1
    cond = torch.randn(5, cond_channels, *shape[1:], dtype=torch.float64) if cond_channels else None
    layer.train()
    layer(x, cond)  # data-dependent initialisation (actnorm)
    perturb(layer)
    layer.eval()
    return layer, x, cond


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_contract(name, tmp_path):
    layer, x, cond = make(name)
    y, logdet = layer(x, cond)
    assert y.shape[0] == x.shape[0] and logdet.shape == (x.shape[0],)
    torch.testing.assert_close(layer.inverse(y, cond), x, atol=1e-10, rtol=0)
    # the log-det map: laid out like y, summing to the log-det
    y_map, field = layer.forward_map(x, cond)
    torch.testing.assert_close(y_map, y, atol=1e-12, rtol=0)
    assert field.shape == y.shape and field.dtype == logdet.dtype
    torch.testing.assert_close(field.flatten(1).sum(1), logdet, atol=1e-10, rtol=1e-10)
    # log-det against the autograd Jacobian, one sample at a time
    for k in range(2):
        c = None if cond is None else cond[k : k + 1]

        def f(v, c=c):
            return layer(v.reshape(1, *x.shape[1:]), c)[0].flatten()

        jacobian = torch.autograd.functional.jacobian(f, x[k].flatten())
        torch.testing.assert_close(
            torch.linalg.slogdet(jacobian)[1], logdet[k], atol=1e-8, rtol=1e-8
        )
    # gradients finite
    x_grad = x.clone().requires_grad_(True)
    out, ld = layer(x_grad, cond)
    (out.square().sum() + ld.sum()).backward()
    assert torch.isfinite(x_grad.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters() if p.grad is not None)
    # save / load round trip into a differently initialised twin
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    twin, _, _ = make(name)
    perturb(twin, seed=7)
    buffer.seek(0)
    twin.load_state_dict(torch.load(buffer))
    twin.eval()
    torch.testing.assert_close(twin(x, cond)[0], y)


def test_fold_unfold():
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float64).reshape(2, 3, 4, 6)
    folded = fold(x)
    assert folded.shape == (8, 3, 2, 3)
    torch.testing.assert_close(folded[0], x[0, :, :2, :3])  # quadrant 0 of sample 0
    torch.testing.assert_close(folded[2 * 3 + 1], x[1, :, 2:, 3:])  # quadrant 3 of sample 1
    torch.testing.assert_close(unfold(folded), x)


SHAPES = [(1, 8, 8), (1, 28, 28), (1, 32, 32), (3, 32, 32)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("levels", [0, 1, 2])
@pytest.mark.parametrize("subnet", SUBNETS)
@pytest.mark.parametrize("prior", ["standard", "kat_gmm", "lda"])
def test_every_model_combination(prior, subnet, levels, shape, dtype):
    torch.manual_seed(0)
    config = FlowConfig(
        in_shape=shape, prior=prior, subnet=subnet, levels=levels, width=4, depth=1, topics=3
    )
    flow = build_flow(config, dtype=dtype)
    x8 = torch.randint(0, 256, (2, *shape))
    flow.train()
    loss, metrics = flow.loss(x8)  # initialises actnorm
    perturb(flow, scale=0.02)
    loss, metrics = flow.loss(x8)
    loss.backward()
    assert torch.isfinite(loss) and float(metrics["bits_per_dim"]) > 0
    assert all(torch.isfinite(p.grad).all() for p in flow.parameters() if p.grad is not None)
    flow.eval()
    x = flow.dequantize(x8).to(dtype)
    z, logdet = flow.encode(x)
    assert z.shape == x.shape and logdet.shape == (2,)
    tolerance = 1e-9 if dtype == torch.float64 else 2e-4
    torch.testing.assert_close(flow.decode(z), x, atol=tolerance, rtol=0)
    assert torch.isfinite(flow.bits_per_dim(x8)).all()
    maps = flow.density_maps(x)  # position by position, adding up to log p(x)
    assert all(m.shape == (2, *shape[1:]) for m in maps.values())
    total = sum(m.flatten(1).sum(1) for m in maps.values())
    torch.testing.assert_close(total, flow.log_prob(x), atol=tolerance * 1e3, rtol=1e-6)
    samples = flow.sample(2, topic=1 if prior != "standard" else None)
    assert samples.shape == (2, *shape) and samples.dtype == dtype
    if prior != "standard":
        proportions, confidence = flow.topic_posterior(x)
        torch.testing.assert_close(proportions.sum(-1).float(), torch.ones(2))
        assert ((confidence > 0) & (confidence <= 1)).all()


def test_model_log_det_against_autograd():
    """The whole bijection's log-det, on a tiny input, against the Jacobian."""
    config = FlowConfig(in_shape=(1, 4, 4), prior="kat_gmm", levels=1, width=4, depth=2, word=1)
    flow = build_flow(config, dtype=torch.float64)
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64) * 0.8 + 0.1
    flow.train()
    flow.encode(x)
    perturb(flow)
    flow.eval()
    _, logdet = flow.encode(x)
    jacobian = torch.autograd.functional.jacobian(
        lambda v: flow.encode(v.reshape(1, 1, 4, 4))[0].flatten(), x[0].flatten()
    )
    torch.testing.assert_close(torch.linalg.slogdet(jacobian)[1], logdet[0], atol=1e-8, rtol=1e-8)


def test_save_load_whole_model():
    config = FlowConfig(in_shape=(1, 8, 8), prior="lda", subnet="kan", levels=1, width=4, depth=1)
    flow = perturb(build_flow(config))
    buffer = io.BytesIO()
    torch.save(flow.state_dict(), buffer)
    twin = build_flow(config)
    buffer.seek(0)
    twin.load_state_dict(torch.load(buffer))
    x = torch.rand(2, 1, 8, 8)
    flow.eval()
    twin.eval()
    torch.testing.assert_close(twin.log_prob(x), flow.log_prob(x))


@pytest.mark.parametrize("prior", ["standard", "kat_gmm", "lda"])
def test_bf16_autocast_keeps_log_dets_and_priors_in_float32(prior):
    """The autocast path (bf16 on CUDA; exercised here with CPU autocast): log-dets, priors
    and the loss come out in float32, and bits/dim and the loss stay within 0.02 bits/dim
    of the float32 computation on the same inputs and noise (measured: about 0.006)."""
    torch.manual_seed(0)
    flow = build_flow(FlowConfig(in_shape=(1, 16, 16), prior=prior, levels=1, width=8, depth=2))
    x8 = torch.randint(0, 256, (4, 1, 16, 16))
    noise = torch.rand(x8.shape)
    flow.train()
    with torch.no_grad():
        flow.loss(x8, noise=noise)  # initialises actnorm and the topics
    perturb(flow, scale=0.05)  # couplings that are not the identity
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, parts = flow.loss(x8, noise=noise)
        _, logdet = flow.encode(flow.dequantize(x8, noise=noise))
        log_p = flow.log_prob(flow.dequantize(x8, noise=noise))
    assert loss.dtype == logdet.dtype == log_p.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in flow.parameters() if p.grad is not None)
    with torch.no_grad():
        reference, reference_parts = flow.loss(x8, noise=noise)
    assert abs(float(loss.detach()) - float(reference)) < 0.02
    assert abs(float(parts["bits_per_dim"]) - float(reference_parts["bits_per_dim"])) < 0.02
    flow.eval()
    with torch.no_grad():
        exact = flow.bits_per_dim(x8, noise=noise)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = flow.bits_per_dim(x8, noise=noise)
    assert mixed.dtype == torch.float32 and torch.isfinite(exact).all()
    torch.testing.assert_close(mixed, exact, atol=0.02, rtol=0)


@pytest.mark.parametrize("prior", ["standard", "kat_gmm"])
def test_whole_model_density_integrates_to_one(prior):
    """The smallest input the flow takes (1x2x2: one squeeze, one 1x1 word, one fractal level)
    is a 4-D density over the box the logit maps onto R^4, ``(-a, 1 + a)^4`` with
    ``a = 0.05 / 0.9``. Its integral, by importance sampling (16384 draws from a defensive
    mixture: 20% uniform on the box, 80% a Gaussian mixture fitted to decoded samples of
    the flow, whose density sklearn computes independently of the flow), is 1 within five
    standard errors, and the standard error is below 0.025: a missing or doubled log-det or
    prior term moves the mass by far more."""
    from sklearn.mixture import GaussianMixture

    from seisflow.models.layers import unsqueeze

    torch.manual_seed(0)
    config = FlowConfig(in_shape=(1, 2, 2), prior=prior, levels=1, width=4, depth=2, word=1)
    flow = build_flow(config, dtype=torch.float64)
    flow.train()
    with torch.no_grad():
        flow.loss(torch.randint(0, 256, (64, 1, 2, 2)))  # initialises actnorm
    perturb(flow, scale=0.1)
    flow.eval()
    low, high = -0.05 / 0.9, 1 + 0.05 / 0.9
    n, m = 4096, 2**14
    with torch.no_grad():  # samples of the flow, not clamped to [0, 1] as sample() is
        coarse = flow.from_words(flow.prior.sample(n).double())
        factored = torch.randn(n, 2, 1, 1, dtype=torch.float64)
        drawn = flow.decode(unsqueeze(torch.cat([factored, coarse], 1))).reshape(n, 4)
    mixture = GaussianMixture(8, reg_covar=1e-4, random_state=0).fit(drawn.numpy())
    rng = np.random.default_rng(1)
    points = mixture.sample(m)[0][rng.permutation(m)]
    uniform = rng.random(m) < 0.2
    points[uniform] = rng.uniform(low, high, (int(uniform.sum()), 4))
    inside = ((points > low) & (points < high)).all(1)
    log_uniform = np.where(inside, np.log(0.2) - 4 * np.log(high - low), -np.inf)
    log_q = np.logaddexp(log_uniform, np.log(0.8) + mixture.score_samples(points))
    log_p = np.full(m, -np.inf)  # no mass outside the box
    with torch.no_grad():
        log_p[inside] = flow.log_prob(torch.from_numpy(points[inside]).reshape(-1, 1, 2, 2))
    weights = np.exp(log_p - log_q)
    integral, error = weights.mean(), weights.std() / np.sqrt(m)
    assert error < 0.025
    assert abs(integral - 1.0) < 5 * error, (integral, error)


def test_log_det_maps_land_where_their_elements_are():
    """A squeeze inside a stack moves the earlier map with the elements; a fractal
    quadrant's map lands on that quadrant."""
    from seisflow.models.fractal import quadrant_codes
    from seisflow.models.layers import Sequential

    first, second = ActNorm(1), ActNorm(4)
    with torch.no_grad():
        first.log_scale.fill_(0.3)
        second.log_scale.copy_(torch.tensor([0.1, 0.2, 0.4, 0.8]).reshape(1, 4, 1, 1))
    first.ready = second.ready = True
    stack = Sequential(first, Squeeze(), second)
    _, field = stack.forward_map(torch.rand(2, 1, 4, 4))
    expected = -0.3 - torch.tensor([0.1, 0.2, 0.4, 0.8]).reshape(1, 4, 1, 1)
    torch.testing.assert_close(field, expected.expand(2, 4, 2, 2))

    torch.manual_seed(3)
    layer = FractalCoupling(1, 1, (8, 8), depth=2, subnet="cnn", width=4).double()
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    layer.train()
    layer(x)
    perturb(layer.inner)
    with torch.no_grad():  # the global coupling: the identity, a zero map
        for p in layer.outer.parameters():
            p.zero_()
    layer.eval()
    _, field = layer.forward_map(x)
    codes = quadrant_codes(3, (4, 4), x)[:3]  # quadrant 0 (top left)
    _, alone = layer.inner.forward_map(x[:, :, :4, :4], codes)
    torch.testing.assert_close(field[:, :, :4, :4], alone)
    assert field[:, :, 4:, 4:].abs().sum() > 0 and not torch.allclose(field[:, :, 4:, 4:], alone)
