"""Faithfulness of a map (labelbench.cam_faithfulness): ROAD's imputation and scores against pytorch-grad-cam's on
one shared fixture (same image, same map, same small network), and the deletion/insertion curves on a model
whose score is known in closed form."""

import numpy as np
import pytest

from labelbench import cam_faithfulness as F

torch = pytest.importorskip("torch")
from pytorch_grad_cam.metrics.perturbation_confidence import (  # noqa: E402
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer  # noqa: E402

#: both solve the same sparse system with SciPy's spsolve; pytorch-grad-cam returns float32, so agreement is
#: to float32 rounding of values in [0, 1]
TOLERANCE = 1e-5


@pytest.fixture
def fixture():
    """A smooth 16×16 RGB image in [0, 1], a map with one bright blob, and a small sigmoid network."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16] / 15
    image = np.stack([yy, xx, 0.5 + 0.3 * np.sin(6 * xx * yy)], -1) + rng.normal(0, 0.05, (16, 16, 3))
    image = np.clip(image, 0, 1)
    cam = np.exp(-((yy - 0.3) ** 2 + (xx - 0.6) ** 2) / 0.05) + 0.01 * rng.random((16, 16))
    cam = cam / cam.max()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 16 * 16, 2)).eval()
    with torch.no_grad():
        net[3].weight *= 30  # scores that move visibly when pixels are replaced
    return image, cam, net


def sigmoid_target(k):
    return lambda output: torch.sigmoid(output[k])


def score_of(net, k):
    def score(images):
        with torch.no_grad():
            x = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2)
            return torch.sigmoid(net(x)[:, k]).numpy()
    return score


@pytest.mark.parametrize("most_relevant_first", [True, False])
def test_imputation_matches_pytorch_grad_cam(fixture, most_relevant_first):
    image, cam, _ = fixture
    keep = F.road_keep_mask(cam, most_relevant_first)
    assert 0.15 < 1 - keep.mean() < 0.25  # 20 % removed
    ours = F.noisy_linear_impute(image, keep, rng=None)
    theirs = NoisyLinearImputer(noise=0.0)(torch.tensor(image.transpose(2, 0, 1), dtype=torch.float32),
                                           torch.tensor(keep, dtype=torch.float32)).numpy().transpose(1, 2, 0)
    assert np.abs(ours - theirs).max() < TOLERANCE
    assert np.array_equal(ours[keep], image[keep])  # kept pixels untouched
    assert np.abs(ours[~keep] - image[~keep]).max() > 0.01  # and the removed ones really replaced


def test_road_scores_match_pytorch_grad_cam(fixture):
    """Same image, map and network; noise off on both sides (pytorch-grad-cam draws its noise from torch's
    global generator, ours from a seeded NumPy one, so only the noiseless scores can be compared exactly)."""
    image, cam, net = fixture
    ours = F.road_scores(image, cam, score_of(net, 1), rng=None)
    x = torch.tensor(image.transpose(2, 0, 1)[None], dtype=torch.float32)
    theirs = {}
    for name, removal in (("road_morf", RemoveMostRelevantFirst), ("road_lerf", RemoveLeastRelevantFirst)):
        metric = PerturbationConfidenceMetric(removal(F.ROAD_PERCENTILE, NoisyLinearImputer(noise=0.0)))
        theirs[name] = float(metric(x, cam[None].astype(np.float32), [sigmoid_target(1)], net)[0])
    assert ours["road_morf"] == pytest.approx(theirs["road_morf"], abs=TOLERANCE)
    assert ours["road_lerf"] == pytest.approx(theirs["road_lerf"], abs=TOLERANCE)
    assert abs(ours["road_morf"]) > 1e-3  # the removal changes the score


def test_noise_is_seeded():
    image = np.random.default_rng(1).random((8, 8, 3))
    keep = np.ones((8, 8), bool)
    keep[2:5, 3:6] = False
    a = F.noisy_linear_impute(image, keep, rng=np.random.default_rng(5))
    b = F.noisy_linear_impute(image, keep, rng=np.random.default_rng(5))
    c = F.noisy_linear_impute(image, keep, rng=None)
    assert np.array_equal(a, b) and 0 < np.abs(a - c).max() < 0.05


def test_deletion_and_insertion_on_a_model_that_reads_one_region():
    """The score is the mean squared value of the top-left quarter of a checkerboard (0.5; blurred, nearer 0.25;
    deleted, 0): the map that points there deletes the score fastest and inserts it fastest; the reversed map
    does neither."""
    yy, xx = np.mgrid[0:16, 0:16]
    image = np.repeat(((yy + xx) % 2).astype(float)[..., None], 3, -1)

    def score(images):
        return (images[:, :8, :8] ** 2).mean(axis=(1, 2, 3))

    right = np.where((yy < 8) & (xx < 8), 1.0, 0.1) * (1 - (yy + xx) / 64)
    wrong = 1 - right  # the same order reversed: the region last
    good, bad = F.deletion_insertion(image, right, score, steps=8), F.deletion_insertion(image, wrong, score, steps=8)
    # the right map removes the whole region by share 1/4: the deletion curve is 0.5 → 0 linearly over [0, 1/4]
    # (the region's dark half is "removed" without changing the score, so the slope is the same on average)
    assert good["deletion_auc"] == pytest.approx(0.5 * 0.25 / 2, abs=0.01)
    assert bad["deletion_auc"] == pytest.approx(0.5 * (0.75 + 0.25 / 2), abs=0.01)
    assert good["insertion_auc"] > bad["insertion_auc"] + 0.1


def test_the_batched_form_gives_the_per_map_numbers(fixture):
    image, cam, net = fixture
    score = score_of(net, 1)
    single = {**F.deletion_insertion(image, cam, score, steps=4), **F.road_scores(image, cam, score, rng=None)}
    images, cams = np.stack([image, image[::-1]]), np.stack([cam, cam.T])
    many = F.faithfulness_many(images, cams, lambda batch, owner: score(batch), steps=4, rng=None)
    assert many[0] == pytest.approx(single, abs=1e-6)
    assert many[1] != pytest.approx(single, abs=1e-6)
