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
    # attentive MMIL pooling (LSLD eq. 1), recomputed from the classifier's input
    captured = {}
    model.fc_prob.register_forward_hook(lambda m, inp, out: captured.update(x=inp[0]))
    out = model(audio, [torch.randn(3, 10, d) for d in visual_dims])
    x = captured["x"]  # [B, T, 2, D]
    prob = torch.sigmoid(model.fc_prob(x))
    w_time = torch.softmax(model.fc_frame_att(x), dim=1)
    w_mod = torch.softmax(model.fc_av_att(x), dim=2)
    assert torch.allclose(out.frame_prob, prob)
    assert torch.allclose(out.audio_prob, (w_time[:, :, 0] * prob[:, :, 0]).sum(1), atol=1e-6)
    assert torch.allclose(out.visual_prob, (w_time[:, :, 1] * prob[:, :, 1]).sum(1), atol=1e-6)
    assert torch.allclose(out.global_prob, (w_time * prob * w_mod).sum(dim=(1, 2)), atol=1e-6)


def test_shared_layer_has_fewer_parameters():
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(HAN(share_layer=True)) < count(HAN(share_layer=False))


def test_registry():
    assert isinstance(build_model("han", visual_dims=(512,)), HAN)
    with pytest.raises(KeyError, match="unknown model"):
        build_model("no_such_model")
    with pytest.raises(ValueError, match="visual"):
        HAN(visual_dims=())
