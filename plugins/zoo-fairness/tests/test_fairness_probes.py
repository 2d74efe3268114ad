"""Known-answer tests of the four probes on synthetic data, through the metric registry."""

import math

import numpy as np
import pytest
import torch

import zoo
from zoo.errors import MetricError, MetricUnavailable, UnknownNameError
from zoo_fairness.classifiers import Classifier, ItaBins
from zoo_fairness.ita import MONK_SKIN_TONES, ita_degrees, skin_tone, swatch
from zoo_fairness.probes import AttributePreservation, GroupQualityGap, Representation, SkinToneShift

from fairness_helpers import DARK, LIGHT, offset_by, patches, shift_lightness

torch.set_num_threads(1)


def run(metric, output, reference=None, attributes=None, **extras):
    vals = metric(output, reference, **extras)
    return {k: v.tolist() for k, v in vals.items()}, metric.aggregate({k: v.tolist() for k, v in vals.items()}, attributes)


# -- skin-tone-shift -----------------------------------------------------------------------------


def test_skin_tone_shift_identity_is_zero():
    ref = patches(range(1, 11))
    values, agg = run(zoo.metric("skin-tone-shift", region="whole"), ref, ref)
    assert values["delta_ita"] == [0.0] * 10
    assert agg["mean_delta_ita"] == 0.0 and agg["category_flip_rate"] == 0.0 and agg["n_measured"] == 10
    assert agg["lightening_rate"] == 0.0 and agg["darkening_rate"] == 0.0


def test_skin_tone_shift_lightness_plus_10_gives_predicted_delta():
    tones = (5, 6, 8)
    ref = patches(tones)
    out = shift_lightness(ref, 10.0)
    m = SkinToneShift(region="whole", min_units=2)  # three patches: the formula, not a claim about people
    values, agg = run(m, out, ref)
    before = [skin_tone(swatch(MONK_SKIN_TONES[t])) for t in tones]
    predicted = [ita_degrees(s.lightness + 10, s.b) - s.ita for s in before]
    assert values["delta_ita"] == pytest.approx(predicted, abs=0.02)
    assert values["ita_out"] == pytest.approx([58.59, 29.52, -34.95], abs=0.03)
    assert values["category_flip"] == [1.0, 1.0, 0.0]  # light -> very_light, tan -> intermediate, dark stays dark
    assert agg["mean_delta_ita"] == pytest.approx(np.mean(predicted), abs=0.02)
    assert agg["lightening_rate"] == 1.0 and agg["category_flip_rate"] == pytest.approx(2 / 3)
    assert agg["mean_delta_ita_lo"] <= agg["mean_delta_ita"] <= agg["mean_delta_ita_hi"]
    assert values["delta_L"] == pytest.approx([10.0] * 3, abs=0.01)


def test_group_selective_lightening_gives_the_analytic_group_gap():
    tones = list(LIGHT) * 3 + list(DARK) * 4  # 12 light, 12 dark
    ref = patches(tones)
    dark = torch.tensor([t in DARK for t in tones])
    out = shift_lightness(ref, 10.0, where=dark)
    attrs = [{"tone": "dark" if t in DARK else "light"} for t in tones]
    values, agg = run(SkinToneShift(region="whole", n_perm=2000), out, ref, attributes=attrs)
    expected_dark = np.mean([ita_degrees(skin_tone(swatch(MONK_SKIN_TONES[t])).lightness + 10,
                                         skin_tone(swatch(MONK_SKIN_TONES[t])).b) - skin_tone(swatch(MONK_SKIN_TONES[t])).ita
                             for t in tones if t in DARK])
    assert agg["mean_delta_ita[tone=light]"] == pytest.approx(0.0, abs=0.01)
    assert agg["mean_delta_ita[tone=dark]"] == pytest.approx(expected_dark, abs=0.02)
    assert agg["group_gap_delta_ita[tone]"] == pytest.approx(expected_dark, abs=0.02)
    assert agg["group_gap_p[tone]"] < 0.01
    assert agg["n[tone=dark]"] == 12 and agg["lightening_rate[tone=light]"] == 0.0


def test_unmeasurable_items_are_counted_with_reasons():
    ref = torch.cat([patches([6]), torch.full((1, 3, 8, 8), 0.5)])
    m = SkinToneShift(region="whole")
    values, agg = run(m, ref, ref)
    assert math.isnan(values["delta_ita"][1]) and values["delta_ita"][0] == 0.0
    assert m.item_reasons[0] is None and "reference: b* = 0.00" in m.item_reasons[1]
    assert agg["n"] == 2 and agg["n_measured"] == 1 and agg["n_unmeasured"] == 1
    grey_out = torch.cat([torch.full((1, 3, 8, 8), 0.5), ref[1:]])  # a method that turns skin grey
    values, _ = run(m, grey_out, ref)
    assert "output: b*" in m.item_reasons[0] and not math.isnan(values["ita_ref"][0]) and math.isnan(values["ita_out"][0])


def test_face_region_on_a_real_photograph():
    from zoo_fairness.datasets import samples_faces

    ref = samples_faces()[0].image[None]
    m = SkinToneShift()
    values, agg = run(m, shift_lightness(ref, 5.0), ref)
    assert m.item_reasons == [None]
    assert 0.02 < values["skin_fraction"][0] < 0.5
    assert values["delta_ita"][0] > 2.0 and values["delta_L"][0] == pytest.approx(5.0, abs=0.2)
    noise = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    values, agg = run(m, noise, noise)
    assert "no frontal face" in m.item_reasons[0] and agg["n_unmeasured"] == 1 and math.isnan(agg["mean_delta_ita"])


def test_skin_tone_shift_against_input_for_translators():
    x = patches([5, 6])
    m = SkinToneShift(region="whole", against="input")
    assert m.needs == ("input", "attributes") and not m.needs_reference
    values, _ = run(m, shift_lightness(x, 10.0), None, input=x)
    assert values["delta_L"] == pytest.approx([10.0, 10.0], abs=0.01)
    with pytest.raises(MetricError, match="needs the method's input"):
        m(x)
    with pytest.raises(MetricError, match="size of the inputs"):
        m(x, input=patches([5, 6], size=4))


def test_skin_tone_shift_options_are_checked():
    with pytest.raises(MetricError, match="region"):
        zoo.metric("skin-tone-shift", region="cheeks")
    with pytest.raises(MetricError, match="threshold"):
        SkinToneShift(threshold=0)
    with pytest.raises(MetricError, match="against"):
        SkinToneShift(against="style")
    assert "region=whole" in SkinToneShift(region="whole").fingerprint


# -- group-quality-gap ---------------------------------------------------------------------------


def test_known_noise_gives_the_expected_psnr_gap_and_small_p():
    n = 10
    ref = torch.full((2 * n, 3, 16, 16), 0.5)
    attrs = [{"skin_tone": "A"}] * n + [{"skin_tone": "B"}] * n
    out = offset_by(ref, [0.01] * n + [0.02] * n)  # group B degraded twice as much
    m = zoo.metric("group-quality-gap", metric="psnr", group="skin_tone", n_perm=2000)
    _, agg = run(m, out, ref, attributes=attrs)
    assert agg["mean[skin_tone=A]"] == pytest.approx(40.0, abs=1e-3)
    assert agg["mean[skin_tone=B]"] == pytest.approx(33.9794, abs=1e-3)
    assert agg["gap"] == pytest.approx(20 * math.log10(2), abs=1e-3)
    assert agg["p_value"] < 0.01 and agg["worst_group_mean"] == pytest.approx(33.9794, abs=1e-3)
    same = offset_by(ref, [0.02] * (2 * n))
    _, agg = run(m, same, ref, attributes=attrs)
    assert agg["gap"] == pytest.approx(0.0, abs=1e-9) and agg["p_value"] == 1.0


def test_gaussian_noise_gap_and_equal_treatment():
    g = torch.Generator().manual_seed(0)
    n = 15
    ref = torch.full((2 * n, 3, 32, 32), 0.5)
    sig = torch.tensor([0.02] * n + [0.04] * n).view(-1, 1, 1, 1)
    out = (ref + sig * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    attrs = [{"g": "a"}] * n + [{"g": "b"}] * n
    _, agg = run(GroupQualityGap("psnr", group="g", n_perm=2000), out, ref, attributes=attrs)
    assert agg["gap"] == pytest.approx(20 * math.log10(2), abs=0.15)  # -20 log10(sigma) per group
    assert agg["p_value"] < 0.01 and agg["gap_lo"] < agg["gap"] < agg["gap_hi"]
    equal = (ref + 0.03 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    _, agg = run(GroupQualityGap("psnr", group="g", n_perm=2000), equal, ref, attributes=attrs)
    assert agg["gap"] < 0.1 and agg["p_value"] > 0.05


def test_group_quality_gap_caps_infinite_psnr_and_handles_missing_groups(monkeypatch):
    ref = torch.full((2, 3, 16, 16), 0.5)
    m = GroupQualityGap("psnr", group="g", min_units=2)
    values, agg = run(m, ref, ref, attributes=[{"g": "a"}, {}])
    assert values["value"] == [100.0, 100.0] and agg["n_grouped"] == 1
    assert any("one group" in n for n in m.notes)
    _, agg = run(m, ref, ref, attributes=None)
    assert "gap" not in agg and agg["mean"] == 100.0
    assert GroupQualityGap("ssim").higher_is_better and not GroupQualityGap("psnr", channel="y").cap is None
    with pytest.raises(UnknownNameError):
        GroupQualityGap("nope")
    import zoo.metrics

    class SetLevel(zoo.metrics.Metric):
        name, paired = "set-level", False

    monkeypatch.setattr(zoo.metrics, "build_metric", lambda name, **o: SetLevel())
    with pytest.raises(MetricError, match="distribution"):
        GroupQualityGap("set-level")


# -- representation ------------------------------------------------------------------------------


def two_bins():
    return ItaBins(thresholds=[28.0], names=["light", "dark"], region="whole")


def test_representation_08_02_known_answer():
    out = patches([1] * 80 + [8] * 20)  # a stub generator at 0.8 / 0.2; the classifier is perfect on swatches
    m = zoo.metric("representation", classifier=two_bins())
    values, agg = run(m, out)
    assert agg["proportion[light]"] == 0.8 and agg["proportion[dark]"] == 0.2
    assert agg["fd_l2"] == pytest.approx(0.4243, abs=1e-4)
    assert agg["fd_l1"] == pytest.approx(0.6, abs=1e-12)
    assert agg["kl"] == pytest.approx(0.1927, abs=1e-4)
    assert agg["fd_l2_lo"] < agg["fd_l2"] < agg["fd_l2_hi"] and agg["gof_p"] < 1e-6


def test_representation_one_of_seven_classes_and_unseen_classes():
    seven = ItaBins(thresholds=[70, 55, 41, 28, 10, -30], names=list("abcdefg"), region="whole")
    _, agg = run(Representation(seven), patches([1] * 14))
    assert agg["kl"] == pytest.approx(math.log(7), abs=1e-12)
    assert agg["proportion[g]"] == 0.0 and agg["count[b]"] == 0.0  # never predicted, still counted
    assert agg["norm_entropy"] == 0.0


def test_representation_confusion_correction_recovers_the_truth():
    class Noisy(Classifier):
        """Says 'light' for MST1 and MST2 patches and 'dark' for MST7 and MST8: MST2/MST7 are the errors."""
        classes = ("light", "dark")

        def _classify(self, x):
            light = x[:, 0, 0, 0] > 0.94
            return torch.stack([light, ~light], 1).double()

    truth_light = [1] * 72 + [7] * 8  # 80 truly light; 8 of them come out mislabelled as dark (MST7 stands in)
    truth_dark = [8] * 18 + [2] * 2
    out = patches(truth_light + truth_dark)
    clf = Noisy()
    conf = [[0.9, 0.1], [0.1, 0.9]]
    _, agg = run(Representation(clf, confusion=conf), out)
    assert agg["proportion[light]"] == pytest.approx(0.74)
    assert agg["fd_l2"] == pytest.approx(0.3394, abs=1e-4)  # understated
    assert agg["proportion_corrected[light]"] == pytest.approx(0.8)
    assert agg["fd_l2_corrected"] == pytest.approx(0.4243, abs=1e-4)
    with pytest.raises(MetricError, match="2 x 2"):
        Representation(clf, confusion=[[1.0]])


def test_representation_target_input_and_unlabelled_items():
    x = torch.cat([patches([1, 8, 1]), torch.full((1, 3, 8, 8), 0.5)])
    m = Representation(two_bins(), target="input")
    assert m.needs == ("input",)
    values, agg = run(m, x, input=x)
    assert agg["fd_l2"] == 0.0 and agg["n_unlabelled"] == 1 and "b* = 0.00" in m.item_reasons[3]
    _, agg = run(Representation(two_bins(), target={"light": 0.5, "dark": 0.5}), x)
    assert agg["target[light]"] == 0.5
    with pytest.raises(MetricError, match="unknown classes"):
        Representation(two_bins(), target={"purple": 1.0})


# -- attribute-preservation ----------------------------------------------------------------------


def test_attribute_preservation_flags_a_method_that_lightens_dark_faces():
    tones = [1, 2, 3, 4] * 5 + [7, 8] * 10
    x = patches(tones)
    dark = torch.tensor([t in DARK for t in tones])
    out = shift_lightness(x, 40.0, where=dark)
    m = zoo.metric("attribute-preservation", classifier=two_bins())
    values, agg = run(m, out, input=x)
    assert agg["keep_rate[light]"] == 1.0 and agg["keep_rate[dark]"] == 0.0
    assert agg["worst_group_keep_rate"] == 0.0 and agg["keep_rate_spread"] == 1.0
    assert agg["rate[dark->light]"] == 1.0 and agg["p_value"] < 1e-6 and agg["keep_rate"] == 0.5
    _, agg = run(m, x, input=x)  # identity
    assert agg["keep_rate"] == 1.0 and agg["rdp_kl"] == 0.0 and agg["p_value"] == 1.0


def test_attribute_preservation_partial_rates_match_the_reference_numbers():
    m = AttributePreservation(two_bins())
    src = [0.0] * 20 + [1.0] * 20
    out = [0.0] * 18 + [1.0] * 2 + [1.0] * 9 + [0.0] * 11  # accuracies 0.9 and 0.45
    agg = m.aggregate({"pred_source": src, "pred_output": out}, None)
    assert agg["keep_rate[light]"] == 0.9 and agg["keep_rate[dark]"] == 0.45
    assert agg["rdp_kl"] == pytest.approx(0.0566, abs=1e-4)  # r = (2/3, 1/3)


def test_attribute_preservation_from_dataset_labels_and_unavailable_without_classifier():
    x = patches([1, 8])
    m = AttributePreservation(two_bins(), label="tone")
    assert m.needs == ()
    values, _ = run(m, x)
    agg = m.aggregate(values, [{"tone": "light"}, {"tone": "light"}])
    assert agg["keep_rate[light]"] == 0.5
    with pytest.raises(MetricError, match="not classes"):
        m.aggregate(values, [{"tone": "pale"}, {"tone": "light"}])
    with pytest.raises(MetricUnavailable, match="no classifier"):
        zoo.metric("attribute-preservation")
    with pytest.raises(MetricUnavailable, match="drive.google.com"):
        zoo.metric("attribute-preservation", classifier="fairface-race7.res34")
    with pytest.raises(UnknownNameError, match="ita-bins"):
        zoo.metric("representation", classifier="nope")


def test_probe_update_and_summary_accumulate_batches():
    m = SkinToneShift(region="whole")
    ref = patches([5, 6, 8])
    m.update(shift_lightness(ref[:2], 10.0), ref[:2])
    m.update(ref[2:], ref[2:])
    vals = m.compute()
    assert vals["delta_ita"].shape == (3,) and vals["delta_ita"][2] == 0.0
    assert m.summary()["n"] == 3 and len(m.all_reasons) == 3
