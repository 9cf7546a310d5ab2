"""The hand-written (Keras) CAM methods of labelbench.cam_methods against pytorch-grad-cam's classes, on a small
torch network whose activations and gradients are handed to our NumPy combination."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pgc = pytest.importorskip("pytorch_grad_cam")

from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

from labelbench import cam_methods as C  # noqa: E402

#: on maps scaled to [0, 1]: the activations and gradients are float32 on both sides; pytorch-grad-cam sums in
#: float32, we in float64, and it scales twice with a 1e-7 guard: differences of ~1e-6 are rounding, not method
TOLERANCE = 1e-5


def small_network(seed: int = 0) -> torch.nn.Module:
    """Two same-size convolutions, global average pooling and a dense layer: maps at the input's size, so
    pytorch-grad-cam's resize is the identity."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(6, 3))
    return net.eval()


def activations_and_gradients(net, x, classes, index=1):
    """A (N×H×W×K) of layer ``index`` (1: the first ReLU, whose gradients vary over the positions; 3: the last,
    whose gradients are constant there under global average pooling) and G = ∂logit_c/∂A, from torch autograd."""
    store = {}
    layer = net[index]
    handle = layer.register_forward_hook(lambda m, i, o: store.update(a=o))
    out = net(x)
    handle.remove()
    score = out[torch.arange(len(x)), torch.tensor(classes)].sum()
    (grads,) = torch.autograd.grad(score, store["a"])
    to_nhwc = lambda t: t.detach().permute(0, 2, 3, 1).numpy().astype(np.float64)  # noqa: E731
    return to_nhwc(store["a"]), to_nhwc(grads)


def minmax(cams):
    """pytorch-grad-cam's scaling: (map - min) / (max + 1e-7) per map, applied twice (per layer, then after
    averaging the layers), which leaves (map - min) / (max - min) up to ~1e-7."""
    shifted = cams - cams.min(axis=(1, 2), keepdims=True)
    return shifted / shifted.max(axis=(1, 2), keepdims=True)


@pytest.mark.parametrize("method", C.KERAS_METHODS)
def test_our_maps_match_pytorch_grad_cam(method):
    net = small_network()
    x = torch.rand(4, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    classes = [0, 1, 2, 1]
    acts, grads = activations_and_gradients(net, x, classes)
    ours = minmax(C.combine(method, acts, grads))
    cls = getattr(pgc, C.METHODS[method])
    with cls(model=net, target_layers=[net[1]]) as cam:
        theirs = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])
    assert ours.shape == theirs.shape == (4, 12, 12)
    assert np.abs(ours - theirs).max() < TOLERANCE
    assert ours.std() > 0.05  # the maps are not flat: the comparison says something


def test_the_methods_differ_and_hirescam_keeps_the_papers_properties():
    """At the last layer before global average pooling and one dense layer, Σ_ij G·A is the logit less the bias and
    HiResCAM's map equals Grad-CAM's (Draelos & Carin 2020); one layer earlier the three methods differ."""
    net = small_network(3)
    x = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(2))
    acts, grads = activations_and_gradients(net, x, [2, 2], index=3)
    with torch.no_grad():
        logits = net(x)[:, 2].numpy()
    assert (acts * grads).sum(axis=(1, 2, 3)) == pytest.approx(logits - float(net[6].bias[2]), abs=1e-5)
    late = {m: C.scale_maps(C.combine(m, acts, grads)) for m in ("gradcam", "hirescam")}
    assert np.abs(late["gradcam"] - late["hirescam"]).max() < 1e-9
    acts, grads = activations_and_gradients(net, x, [2, 2], index=1)
    maps = {m: C.scale_maps(C.combine(m, acts, grads)) for m in C.KERAS_METHODS}
    assert np.abs(maps["gradcam"] - maps["gradcampp"]).max() > 1e-2
    assert np.abs(maps["gradcam"] - maps["hirescam"]).max() > 1e-2


def test_unknown_or_torch_only_methods_are_refused_for_keras():
    a = np.ones((1, 2, 2, 3))
    with pytest.raises(ValueError, match=r"'scorecam' is not written for Keras; expected one of \['gradcam'"):
        C.combine("scorecam", a, a)
    assert set(C.KERAS_METHODS) < set(C.TORCH_METHODS) == set(C.METHODS)


def test_the_config_refuses_a_method_the_framework_does_not_offer():
    from pathlib import Path

    import yaml

    from labelbench.config import check_references
    from labelbench.errors import ConfigError

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs/smoke.yaml").read_text())
    config["experiments"]["complementary"].setdefault("gradcam", {})["methods"] = ["gradcam", "scorecam"]
    with pytest.raises(ConfigError, match=r"experiments.complementary.gradcam.methods: \['scorecam'\] are not offered "
                                          r"for keras models; expected some of \['gradcam', 'gradcampp', 'hirescam'\]"):
        check_references(config)
    config["experiments"]["complementary"]["gradcam"]["methods"] = ["gradcampp"]
    config["experiments"]["tagging"].setdefault("gradcam", {})["methods"] = list(C.TORCH_METHODS)
    check_references(config)
