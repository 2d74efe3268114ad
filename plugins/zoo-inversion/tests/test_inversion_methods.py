"""Inversion with the offline generator: known answers in z, w and w+ (optimisation with Adam and
L-BFGS, encoder, hybrid), statistics, operating points, and the size policy (resize or refuse)."""

import math

import pytest
import torch

import zoo
from zoo.errors import ContractError
from zoo.tasks import Latent
from zoo_inversion.offline import lfw_faces

torch.set_num_threads(1)

#: Known answers (stated in the README): inverting G(latent0) reaches these PSNRs (dB): the measured
#: values minus a 1 dB margin (60 Adam steps, lr 0.1, one thread; measured 42.57, 46.39, 45.29).
KNOWN_PSNR = {"z": 41.5, "w": 45.3, "w+": 44.2}
#: 40 L-BFGS steps in w+ (measured 49.28), minus 1 dB.
KNOWN_PSNR_LBFGS = 48.2


def known_target(method, space: str, seed: int = 11) -> torch.Tensor:
    """G(latent0) with latent0 a seeded point of ``space`` (w+: a different w per layer)."""
    g = method.generator
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if space == "w+":
            z = torch.randn(g.n_latent, g.style_dim, generator=gen)
            code = g.mapping(z).unsqueeze(0)
        else:
            z = torch.randn(1, g.style_dim, generator=gen)
            code = z if space == "z" else g.mapping(z)
        return method.synthesize(code, None, space)


def psnr(a, b):
    return float(-10 * torch.log10((a - b).pow(2).mean()))


@pytest.mark.parametrize("space", ["z", "w", "w+"])
def test_optimisation_reaches_the_known_answer_psnr_in_each_space(space):
    m = zoo.load("sg2-optim.lfw32", space=space, steps=60, perceptual=0.0, lr=0.1)
    x = known_target(m, space)
    y = m.generate(m.invert(x))
    assert psnr(y, x) >= KNOWN_PSNR[space], psnr(y, x)
    assert m.stats["iterations"] == 60 and m.stats["seconds"] > 0
    assert m.stats["psnr_fit"] == pytest.approx(psnr(y, x), abs=1e-3)


def test_lbfgs_reaches_the_w_plus_known_answer():
    m = zoo.load("sg2-optim.lfw32", space="w+", steps=40, optimizer="lbfgs", perceptual=0.0)
    x = known_target(m, "w+")
    y = m.generate(m.invert(x))
    assert psnr(y, x) >= KNOWN_PSNR_LBFGS, psnr(y, x)
    assert 0 < m.stats["iterations_to_target"] <= m.stats["iterations"]


def test_perceptual_loss_noise_optimisation_and_restarts_run_and_fit():
    m = zoo.load("sg2-optim.lfw32", space="w+", steps=40, perceptual=0.1, optimize_noise=True, restarts=2, target_psnr=20.0)
    x = known_target(m, "w+")
    lat = m.invert(x)
    assert len(lat.extras["noise"]) == m.generator.num_layers
    for n in lat.extras["noise"]:  # re-standardised every step
        assert abs(float(n.mean())) < 1e-3 and abs(float(n.std()) - 1) < 1e-2
    assert m.stats["iterations"] == 80  # two restarts of 40
    assert psnr(m.generate(lat), x) >= 20.0
    assert not math.isnan(m.stats["iterations_to_target"])


def test_w_plus_reconstructs_held_out_faces_better_than_w_and_z():
    x = lfw_faces("heldout")[:2]
    got = {}
    for space in ("z", "w", "w+"):
        m = zoo.load("sg2-optim.lfw32", space=space, steps=60, perceptual=0.0, lr=0.1)
        got[space] = psnr(m.generate(m.invert(x)), x)
    # measured 24.01 > 21.47 > 19.32 dB: each richer space must win, by at least 1 dB (margins 2.5, 2.2)
    assert got["w+"] > got["w"] + 1.0 and got["w"] > got["z"] + 1.0, got


#: Does the space's hybrid (encoder start + 30 Adam steps) beat the 8x8 down-up thumbnail on the two
#: faces? Measured: z 19.74, w 21.66, w+ 23.65 dB against 22.63; the encoders alone: 19.17, 19.14, 19.33.
HYBRID_BEATS_DOWN_UP = {"z": False, "w": False, "w+": True}


@pytest.mark.parametrize("space", ["z", "w", "w+"])
def test_encoder_inverts_in_one_pass_and_hybrid_improves_on_it(space):
    """Against the trivial baselines on the same faces: the mean face (15.57 dB) and an 8x8 down-up
    (22.63 dB). The encoder beats the mean face by 3.6-3.8 dB (asserted: 2.5) but **not** the
    thumbnail, in every space; the README says so. If a retrained encoder beats the thumbnail this
    test fails on purpose: update the README's statement and this test together."""
    x = lfw_faces("heldout")[:2]
    base = {}
    for bid in ("mean-face.baseline", "down-up.baseline"):
        b = zoo.load(bid)
        base[bid] = psnr(b.generate(b.invert(x)), x)
    assert base["mean-face.baseline"] == pytest.approx(15.57, abs=0.05) and base["down-up.baseline"] == pytest.approx(22.63, abs=0.05)
    enc = zoo.load("sg2-encoder.lfw32", space=space)
    e_psnr = psnr(enc.generate(enc.invert(x)), x)
    assert enc.stats["iterations"] == 0
    assert e_psnr > base["mean-face.baseline"] + 2.5, (e_psnr, base)  # it learnt more than the average face
    assert e_psnr < base["down-up.baseline"], (e_psnr, base)          # ... and less than a 192-number thumbnail
    hyb = zoo.load("sg2-hybrid.lfw32", space=space, steps=30, perceptual=0.0)
    h_psnr = psnr(hyb.generate(hyb.invert(x)), x)
    assert h_psnr > e_psnr + 0.3, (e_psnr, h_psnr)  # measured gains 0.57, 2.52, 4.32 dB
    if HYBRID_BEATS_DOWN_UP[space]:
        assert h_psnr > base["down-up.baseline"] + 0.5, (h_psnr, base)  # measured margin 1.02 dB
    else:
        assert h_psnr < base["down-up.baseline"], (h_psnr, base)


def test_trivial_baselines_are_what_they_say():
    x = lfw_faces("heldout")[:3]
    mf, du = zoo.load("mean-face.baseline"), zoo.load("down-up.baseline")
    y = mf.generate(mf.invert(x))
    assert torch.equal(y[0], y[1]) and torch.equal(y[1], y[2])  # the input does not matter
    assert torch.allclose(y[0], lfw_faces("train").mean(0), atol=1e-6)
    lat = du.invert(x)
    assert lat.code.shape == (3, 192)  # 3 x 8 x 8
    thumb = torch.nn.functional.interpolate(x, size=(8, 8), mode="bicubic", align_corners=False, antialias=True)
    assert torch.allclose(du.generate(lat), torch.nn.functional.interpolate(thumb, size=(32, 32), mode="bicubic",
                                                                           align_corners=False).clamp(0, 1))
    assert psnr(du.generate(lat), x) > psnr(y, x)


def test_batch_equals_single_calls_for_adam_and_is_seeded():
    m = zoo.load("sg2-optim.lfw32", space="w", steps=10, perceptual=0.0, start="random", seed=3)
    x = lfw_faces("heldout")[:2]
    both = m.invert(x).code
    one = m.invert(x[1:2]).code
    assert torch.allclose(both[1:2], one, atol=1e-4)
    assert torch.allclose(m.invert(x).code, both, atol=1e-6)


def test_wrong_size_is_refused_with_a_clear_message_or_resized_on_request():
    m = zoo.load("sg2-optim.lfw32", space="w+", steps=5, perceptual=0.0)
    x = torch.rand(1, 3, 40, 40)
    with pytest.raises(ContractError, match=r"40x40.*32x32.*resize=True"):
        m.invert(x)
    r = zoo.load("sg2-optim.lfw32", space="w+", steps=5, perceptual=0.0, resize=True)
    lat = r.invert(x)
    assert lat.extras["input_size"] == (40, 40)
    assert r.generate(lat).shape == x.shape  # reconstruction comes back at the input size
    assert r.fingerprint_params()["resize"] == "bicubic-matlab" and m.fingerprint_params()["resize"] == "refuse"


def test_bad_operating_points_name_option_value_and_choices():
    with pytest.raises(Exception, match=r"space.*'q'.*z"):
        zoo.load("sg2-optim.lfw32", space="q")
    with pytest.raises(Exception, match=r"optimizer.*sgd.*lbfgs"):
        zoo.load("sg2-optim.lfw32", optimizer="sgd")
    with pytest.raises(Exception, match=r"steps"):
        zoo.load("sg2-optim.lfw32", steps=0)


def test_generate_refuses_a_latent_of_another_space():
    m = zoo.load("sg2-optim.lfw32", space="w")
    with pytest.raises(ContractError, match="space"):
        m.generate(Latent("z", torch.zeros(1, 64)))


def test_encoder_weights_need_the_encoder_part():
    m = zoo.load("sg2-encoder.lfw32", space="w")
    with pytest.raises(ValueError, match="part"):
        m.load_weights({}, part="vgg")
