"""Known-answer data, colour-transfer baselines, cycle metrics, and ``zoo run`` with translators."""

import pytest
import torch

import zoo
from zoo.cli import main as zoo_main
from zoo.errors import MetricError, ZooError
from zoo.images import read_image, write_image
from zoo.testing import check_method
from zoo_translation import baselines, data
from zoo_translation.metrics import CycleL1, CyclePSNR, cycle_l1, cycle_psnr
from zoo_translation.translator import GANTranslator


# -- data --------------------------------------------------------------------------------------
def test_grade_is_the_documented_per_pixel_transform():
    x = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    gr, gg, gb = (c ** e for c, e in zip((r, g, b), data.GRADE_GAMMA))
    want = torch.stack([sum(m * c for m, c in zip(row, (gr, gg, gb))) + o for row, o in zip(data.GRADE_MIX, data.GRADE_OFFSET)], 1)
    assert torch.allclose(data.grade(x), want.clamp(0, 1), atol=1e-6)
    ramp = torch.linspace(0, 1, 50).view(1, 1, 1, 50).expand(1, 3, 1, 50)
    assert (data.grade(ramp).diff(dim=-1) > 0).all()  # monotone on gray: invertible along the ramp


def test_graded_domains_are_disjoint_halves_and_heldout_carries_the_answer():
    a, b = list(data.graded("train-A", crop=64)), list(data.graded("train-B", crop=64))
    assert [i.id for i in a] == [i.id for i in b] and len(a) == 11
    from zoo.datasets.samples import samples

    for ia, ib, photo in zip(a, b, samples("train", crop=64)):
        left, right = data.halves(photo.image)
        assert torch.equal(ia.image, left) and torch.allclose(ib.image, data.grade(right))
    held = list(data.graded("heldout", crop=32))
    assert all(torch.allclose(i.extras["target"], data.grade(i.image)) for i in held)


def test_sketch_is_the_documented_colour_dodge():
    x = torch.rand(3, 24, 30, generator=torch.Generator().manual_seed(0))
    y = (x * torch.tensor(data.LUMA).view(3, 1, 1)).sum(0)
    import numpy as np
    from scipy.ndimage import gaussian_filter

    blurred = torch.from_numpy(gaussian_filter((1 - y).numpy().astype(np.float64), 3.0, mode="nearest", truncate=3.0))
    want = (y.double() / (1 - blurred).clamp_min(1e-3)).clamp(0, 1)
    got = data.sketch(x)
    assert torch.equal(got[0], got[1]) and torch.equal(got[1], got[2])
    assert torch.allclose(got[0].double(), want, atol=1e-5)


def test_sketch_pairs_are_aligned_after_cropping():
    for it in data.photo2sketch("heldout", crop=48):
        assert torch.allclose(it.extras["target"], data.sketch(it.image))


def test_pix2pix_aligned_folders_split_a_and_b(tmp_path):
    a = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    b = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(1))
    write_image(tmp_path / "1.png", torch.cat([a, b], -1))
    for direction, (src, tgt) in {"AtoB": (a, b), "BtoA": (b, a)}.items():
        (item,) = list(zoo.dataset("pix2pix-aligned", path=str(tmp_path), direction=direction))
        assert (item.image - src).abs().max() <= 0.5 / 255 + 1e-6
        assert (item.extras["target"] - tgt).abs().max() <= 0.5 / 255 + 1e-6
    write_image(tmp_path / "odd.png", torch.rand(3, 8, 9))
    with pytest.raises(ZooError, match="9 px wide.*A \\| B"):
        [i.image for i in data.aligned(str(tmp_path))]


def test_gray2color_pairs():
    items = list(data.gray2color("heldout", crop=32))
    assert len(items) == 4
    for it in items:
        assert torch.equal(it.image[0], it.image[1]) and torch.equal(it.image[1], it.image[2])
        assert torch.allclose(it.image, data.to_gray(it.extras["target"]))


@pytest.mark.parametrize("factory, split", [(data.graded, "train"), (data.gray2color, "train-A")])
def test_bad_split_is_refused_with_the_choices(factory, split):
    with pytest.raises(ZooError, match=f"split must be .*got '{split}'"):
        factory(split)


def test_datasets_are_registered():
    assert {"translation-sketch", "translation-gray2color", "translation-graded", "pix2pix-aligned"} <= set(zoo.list_datasets())
    ds = zoo.dataset("translation-graded", split="heldout", crop=16)
    assert len(ds) == 4 and "target" in ds[0].extras


# -- baselines ---------------------------------------------------------------------------------
def test_reinhard_matches_lab_mean_and_std_of_domain_b():
    a = [torch.rand(3, 40, 40, generator=torch.Generator().manual_seed(i)) * 0.5 + 0.2 for i in range(3)]
    b = [data.grade(x) for x in a]
    sa, sb = baselines.lab_stats(a), baselines.lab_stats(b)
    out = [baselines.reinhard(x[None], sa, sb)[0] for x in a]
    mu, sd = baselines.lab_stats(out)
    assert torch.allclose(mu, sb[0], atol=0.3) and torch.allclose(sd, sb[1], rtol=0.03)


def test_reinhard_only_shifts_a_channel_without_spread():
    gray = [data.to_gray(torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(1)))]
    colour = [torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(2))]
    y = baselines.reinhard(gray[0][None], baselines.lab_stats(gray), baselines.lab_stats(colour))
    assert torch.isfinite(y).all() and 0 <= y.min() and y.max() <= 1


def test_histogram_matching_inverts_a_monotone_curve():
    x = [torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    curve = [c**2.0 for c in x]
    lut = baselines.histogram_lut(x, curve)
    probe = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    assert (baselines.apply_lut(probe, lut) - probe**2).abs().max() < 0.02


@pytest.mark.parametrize("method_id", [
    "identity.baseline", "color-transfer-reinhard.samples-graded", "color-transfer-histogram.samples-graded",
    "color-transfer-reinhard.samples-gray2color", "color-transfer-histogram.samples-sketch",
])
def test_conformance_kit_baselines(method_id):
    check_method(method_id)


def test_colour_transfer_recovers_most_of_the_grade_on_heldout_photos():
    """The graded domains differ only by f, so a global colour transfer gets close: a real baseline."""
    ds = data.graded("heldout", crop=128)
    ct = zoo.load("color-transfer-reinhard.samples-graded")
    for item in ds:
        err_id = (item.image - item.extras["target"]).pow(2).mean()
        err_ct = (ct.translate(item.image[None])[0] - item.extras["target"]).pow(2).mean()
        assert err_ct < err_id


def test_colour_transfer_reverse_direction_is_fitted_from_b_to_a():
    ct = zoo.load("color-transfer-reinhard.samples-graded")
    (mu_a, sd_a), (mu_b, sd_b) = ct.fitted_stats["AtoB"]
    (rmu_a, rsd_a), (rmu_b, rsd_b) = ct.fitted_stats["BtoA"]
    assert all(torch.equal(u, v) for u, v in [(rmu_a, mu_b), (rsd_a, sd_b), (rmu_b, mu_a), (rsd_b, sd_a)])
    x = data.graded("heldout", crop=64)[0].image[None]
    back = ct.translate(ct.translate(x), "BtoA")
    assert (back - x).abs().mean() < (ct.translate(x) - x).abs().mean()  # the round trip comes back
    assert CycleL1()(x, input=x, method=ct).item() < 0.05


def test_bad_baseline_options():
    with pytest.raises(ValueError, match=r"method='lut' is not allowed; allowed: 'reinhard', 'histogram'"):
        baselines.ColorTransfer(method="lut")
    with pytest.raises(ValueError, match=r"task='sepia'"):
        baselines.ColorTransfer(task="sepia")


# -- metrics -----------------------------------------------------------------------------------
def test_cycle_functions_on_known_values():
    x = torch.zeros(2, 3, 4, 4)
    y = x.clone()
    y[0] += 0.1
    assert torch.allclose(cycle_l1(x, y), torch.tensor([0.1, 0.0], dtype=torch.float64))
    assert torch.allclose(cycle_psnr(x, y)[:1], torch.tensor([20.0], dtype=torch.float64))
    assert torch.isinf(cycle_psnr(x, y)[1])


def _two_way(scale_back: float) -> GANTranslator:
    t = GANTranslator(net="resnet_6blocks", ngf=4, n_blocks=1, two_way=True).eval()
    g = torch.Generator().manual_seed(0)
    t.load_weights({f"{d}.{k}": (torch.randn(v.shape, generator=g) * 0.02 * scale_back if v.is_floating_point() else v)
                    for d, net in t.generators.items() for k, v in net.state_dict().items()})
    return t


def test_cycle_metrics_use_the_method_and_its_input():
    t = _two_way(1.0)
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    y = t.translate(x)
    cyc = t.translate(y, "BtoA")
    assert torch.allclose(CycleL1()(y, input=x, method=t), cycle_l1(x, cyc))
    assert torch.allclose(CyclePSNR()(y, input=x, method=t), cycle_psnr(x, cyc))
    assert CycleL1.needs == ("input", "method") and not CycleL1.needs_reference
    assert zoo.metric("cycle-psnr").higher_is_better and not zoo.metric("cycle-l1").higher_is_better
    assert torch.allclose(CycleL1()(y, input=x, method=zoo.load("identity.baseline")), torch.zeros(2, dtype=torch.float64))


def test_cycle_metrics_refuse_one_way_methods_and_missing_needs():
    x = torch.rand(1, 3, 8, 8)
    one_way = GANTranslator(net="resnet_6blocks", ngf=4, n_blocks=1).eval()
    with pytest.raises(MetricError, match=r"two-way translator.*\['AtoB'\]"):
        CycleL1()(x, input=x, method=one_way)
    with pytest.raises(MetricError, match="needs the method's input batch and the method"):
        CyclePSNR()(x)


# -- zoo run -----------------------------------------------------------------------------------
def _photos(folder, n=2):
    folder.mkdir()
    paths = []
    for i, item in enumerate(data.graded("heldout", crop=40, limit=n)):
        paths.append(str(write_image(folder / f"{item.id}.png", item.image)))
    return paths


def test_zoo_run_translates_a_folder_of_photos(tmp_path, capsys):
    photos = _photos(tmp_path / "in")
    assert zoo_main(["run", "color-transfer-reinhard.samples-graded", *photos, "-o", str(tmp_path / "out")]) == 0
    ct = zoo.load("color-transfer-reinhard.samples-graded")
    for p in photos:
        out = read_image(tmp_path / "out" / p.rsplit("/", 1)[1])
        want = ct.translate(read_image(p)[None])[0]
        assert (out - want).abs().max() <= 1 / 255 + 1e-6


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_zoo_run_two_way_model_with_direction_setting(direction, tmp_path):
    photos = _photos(tmp_path / "in", n=1)
    t = GANTranslator(net="resnet_9blocks", ngf=4, n_blocks=2, two_way=True, direction=direction)
    for p in ("AtoB", "BtoA"):
        for w in t.generators[p].parameters():
            torch.nn.init.normal_(w, 0.0, 0.05 if p == "AtoB" else 0.2, generator=torch.Generator().manual_seed(3))
    official = {k: v for k, v in t.generators[direction].state_dict().items()}  # one direction's official file
    torch.save(official, tmp_path / "g.pth")
    # a two-way entry has one weights part per direction; the setting picks the part it loads
    argv = ["run", "cyclegan-horse-zebra.horse2zebra", *photos, "-o", str(tmp_path / "out"),
            "--weights", f"AtoB={tmp_path / 'g.pth'}", "--weights", f"BtoA={tmp_path / 'g.pth'}",
            "--setting", f"direction={direction}", "--setting", "ngf=4", "--setting", "n_blocks=2"]
    assert zoo_main(argv) == 0
    out = read_image(tmp_path / "out" / photos[0].rsplit("/", 1)[1])
    t.loaded = {direction}
    want = t.eval().translate(read_image(photos[0])[None])[0]
    assert (out - want).abs().max() <= 1 / 255 + 1e-6
    other = t.generators["BtoA" if direction == "AtoB" else "AtoB"]
    with torch.no_grad():
        wrong = ((other(read_image(photos[0])[None] * 2 - 1) + 1) / 2).clamp(0, 1)[0]
    assert (out - wrong).abs().max() > 0.05  # the setting picked the generator


def test_zoo_run_refuses_a_direction_a_one_way_model_lacks(tmp_path, capsys):
    photos = _photos(tmp_path / "in", n=1)
    code = zoo_main(["run", "cyclegan-style-monet.monet2photo", *photos, "-o", str(tmp_path / "out"),
                     "--setting", "direction=BtoA"])
    assert code != 0
    assert "direction='BtoA'" in capsys.readouterr().err


# -- suite ---------------------------------------------------------------------------------------
def test_shipped_suite_loads_by_name_and_names_only_registered_things():
    from zoo.catalog import get_card
    from zoo.harness.suite import load_suite

    suite = load_suite("translation")
    assert [b.name for b in suite.benchmarks][:2] == ["facades-label2photo", "maps-sat2map"]
    registered = set(zoo.list_metrics())
    for bench in suite.benchmarks:
        assert bench.task == "translation"
        for m in bench.methods:
            card = get_card(m.id)
            for setting in m.settings or [{}]:
                assert card.weights_for(setting) or not card.weights
        assert {spec.name for spec in bench.metrics} <= registered
