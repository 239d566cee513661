import pytest
import torch
import torch.nn.functional as F

from avvp_lib.losses import segment_bce
from avvp_lib.methods.vplan import richness_loss
from avvp_lib.models.han import HANOutput
from avvp_lib.supervision import Targets


def _output(b=4, t=10, c=25, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.rand(*s, generator=g) * 0.98 + 0.01  # noqa: E731
    return HANOutput(r(b, c), r(b, c), r(b, c), r(b, t, 2, c))


def test_loss_terms():
    out = _output()
    y = (torch.rand(4, 25) < 0.2).float()
    idx = torch.arange(4)
    base = Targets(video=y, audio=y, visual=0.9 * y + 0.05)
    expected = (F.binary_cross_entropy(out.global_prob, y) + F.binary_cross_entropy(out.audio_prob, y)
                + F.binary_cross_entropy(out.visual_prob, 0.9 * y + 0.05))
    assert torch.allclose(base.loss(out, idx), expected)
    seg = (torch.rand(4, 10, 25) < 0.3).float()
    no_visual = Targets(video=y, audio=y, visual=None, seg_visual=seg, seg_loss=segment_bce, seg_weight=2.0)
    expected = (F.binary_cross_entropy(out.global_prob, y) + F.binary_cross_entropy(out.audio_prob, y)
                + 2.0 * F.binary_cross_entropy(out.frame_prob[:, :, 1], seg))
    assert torch.allclose(no_visual.loss(out, idx), expected)
    rich = Targets(video=y, audio=y, visual=y, seg_visual=seg, seg_loss=richness_loss, seg_weight=0.5)
    extra = rich.loss(out, idx) - Targets(video=y, audio=y, visual=y).loss(out, idx)
    assert torch.allclose(extra, 0.5 * richness_loss(out.frame_prob[:, :, 1], seg, y))


def test_batch_indexing_selects_rows():
    out = _output(b=2)
    y = torch.eye(25)[:5]
    t = Targets(video=y, audio=y, visual=y)
    idx = torch.tensor([3, 1])
    assert torch.allclose(t.loss(out, idx), Targets(video=y[idx], audio=y[idx], visual=y[idx]).loss(out, torch.arange(2)))


def test_bad_targets():
    y = torch.zeros(2, 25)
    with pytest.raises(ValueError, match="needs seg_visual"):
        Targets(video=y, audio=y, visual=y, seg_loss=segment_bce)


def test_vplan_objective_eq9_is_eq5_plus_lambda_ls():
    from avvp_lib.methods.vplan import VPLANTargets, basic_video_loss, total_loss, video_level

    out = _output()
    y = (torch.rand(4, 25, generator=torch.Generator().manual_seed(1)) < 0.2).float()
    seg = (torch.rand(4, 10, 25, generator=torch.Generator().manual_seed(2)) < 0.3).float() * y[:, None, :]
    eq5 = (F.binary_cross_entropy(out.global_prob, y) + F.binary_cross_entropy(out.audio_prob, y)
           + F.binary_cross_entropy(out.visual_prob, video_level(seg)))
    assert torch.allclose(basic_video_loss(out, y, y, video_level(seg)), eq5)
    eq9 = eq5 + 0.5 * richness_loss(out.frame_prob[:, :, 1], seg, y)
    assert torch.allclose(total_loss(out, y, y, seg, 0.5, richness_loss), eq9)
    assert torch.allclose(total_loss(out, y, y, seg, 0.5, None), eq5)
    targets = VPLANTargets(video=y, audio=y, visual=video_level(seg), seg_visual=seg, seg_loss=richness_loss, seg_weight=0.5)
    assert torch.allclose(targets.loss(out, torch.arange(4)), eq9)
