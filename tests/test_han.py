import pytest
import torch

from avvp_lib.models import HAN, build_model


@pytest.mark.parametrize("visual_dims, share", [((2048, 512), True), ((512,), True), ((512, 512), False)])
def test_shapes_and_pooling(visual_dims, share):
    torch.manual_seed(0)
    model = HAN(visual_dims=visual_dims, share_layer=share, num_layers=2).eval()
    audio = torch.randn(3, 10, 128)
    out = model(audio, [torch.randn(3, 10, d) for d in visual_dims])
    assert out.frame_prob.shape == (3, 10, 2, 25)
    for p in (out.global_prob, out.audio_prob, out.visual_prob):
        assert p.shape == (3, 25) and (p >= 0).all() and (p <= 1).all()
    # attentive MMIL pooling: audio/visual probabilities are attention-weighted means over time
    assert (out.audio_prob <= out.frame_prob[:, :, 0].max(1).values + 1e-6).all()
    assert (out.audio_prob >= out.frame_prob[:, :, 0].min(1).values - 1e-6).all()
    # the fused probability mixes the two modalities, so it lies between them
    lo = torch.minimum(out.audio_prob, out.visual_prob) - 1e-6
    hi = torch.maximum(out.audio_prob, out.visual_prob) + 1e-6
    assert ((out.global_prob >= lo) | (out.global_prob <= hi)).all()


def test_shared_layer_has_fewer_parameters():
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(HAN(share_layer=True)) < count(HAN(share_layer=False))


def test_registry():
    assert isinstance(build_model("han", visual_dims=(512,)), HAN)
    with pytest.raises(KeyError, match="unknown model"):
        build_model("mgn")
    with pytest.raises(ValueError, match="visual"):
        HAN(visual_dims=())
