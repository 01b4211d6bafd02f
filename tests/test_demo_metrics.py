"""The demo benchmark's measures: KID, L2, the shipped classifier and the written verdict."""

from __future__ import annotations

import numpy as np
import pytest

from rfedit_desktop.demo import tradeoff
from rfedit_desktop.demo.dataset import make_dataset
from rfedit_desktop.demo.features import accuracy, default_path, embed, kid, load_classifier
from rfedit_desktop.demo.strokes import stroke_set


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    c = rng.normal(loc=0.7, size=(300, 16))
    assert abs(kid(a, b)) < 0.05
    assert kid(a, c) > 10 * abs(kid(a, b))
    with pytest.raises(ValueError):
        kid(a[:1], b)


def test_l2_distance_in_unit_pixels():
    a = np.zeros((2, 4, 4, 3), np.uint8)
    b = a.copy()
    b[1] = 255
    assert np.allclose(tradeoff.l2_distance(a, b), [0.0, np.sqrt(48)])


@pytest.fixture(scope="module")
def net():
    path = default_path()
    if not path.exists():
        pytest.skip(f"classifier not trained: {path}")
    return load_classifier(path)


def test_shipped_classifier_knows_the_domain_and_not_strokes(net):
    images, scenes = make_dataset(200, seed=31337)
    acc = accuracy(net, images, scenes)
    assert acc["shape"] > 0.9 and acc["colour"] > 0.95 and acc["background"] > 0.95
    # realism measure: rough strokes sit further from clean renders than other clean renders
    strokes, clean, _ = stroke_set(64, seed=5)
    ref = embed(net, make_dataset(256, seed=8)[0])
    assert kid(embed(net, strokes), ref) > kid(embed(net, clean), ref)


def _row(method, value, l2, k):
    return {"method": method, "knob": "x", "value": value, "l2": l2, "kid_x1000": k}


def test_verdict_follows_the_numbers():
    base = [_row("sdedit", s, 5 + 10 * s, 100 - 80 * s) for s in (0.2, 0.5, 0.8)]
    base += [_row("ode", s, 4 + s, 90) for s in (0.5, 1.0)]
    better = [_row("rf-inversion", e, 6 + 5 * e, 10) for e in (0.5, 1.0)]
    worse = [_row("rf-inversion", e, 20 + e, 200) for e in (0.5, 1.0)]
    assert "better than the baselines" in tradeoff.verdict(base + better)
    assert "worse than the baselines" in tradeoff.verdict(base + worse)


def test_every_benchmark_point_costs_the_same_evaluations():
    nfes = {tradeoff.nominal_nfe(s) for s in tradeoff.default_settings(28)}
    assert nfes == {56}
