"""MGN, MM-Pyramid and DHHN keep HAN's output contract, learn, and train through the trainer."""
import numpy as np
import pytest
import torch

from avvp_lib.losses import segment_bce
from avvp_lib.config import DataConfig, ModelConfig, RunConfig, TrainConfig, from_dict, to_dict
from avvp_lib.methods.baseline import smooth, video_label_everywhere
from avvp_lib.models import DHHN, MGN, MODELS, DHHNOutput, MGNOutput, MMPyramid, build_model
from avvp_lib.models.dhhn import GUIDE_LR_SCALES, upsample_nearest
from avvp_lib.models.mm_pyramid import AttentionLayer
from avvp_lib.supervision import Targets
from avvp_lib.train import train

BACKBONES = ("mgn", "mm_pyramid", "dhhn")
# Tiny widths of the real classes, for the training tests.
TINY = {"mgn": {"dim": 16, "depth_audio": 1, "depth_visual": 1, "depth_cross": 1, "num_heads": 2},
        "mm_pyramid": {"d_model": 32, "nhead": 4, "dim_feedforward": 32, "num_levels": 2},
        "dhhn": {"d_model": 32, "dim_feedforward": 32, "guide_nhead": 4, "visual_guide_layers": 1}}
# (Adam lr, steps): MGN's grouping chain, with Gumbel assignment in training, needs a gentler, longer run
OVERFIT = {"mgn": (1e-3, 300), "mm_pyramid": (3e-3, 100), "dhhn": (3e-3, 100)}
LLP_INPUTS = {"res152+r2plus1d": (2048, 512), "clip": (512,)}


def _inputs(n: int, visual_dims: tuple[int, ...], seed: int = 0) -> tuple[torch.Tensor, list[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 10, 128, generator=g), [torch.randn(n, 10, d, generator=g) for d in visual_dims]


@pytest.mark.parametrize("visual", list(LLP_INPUTS))
@pytest.mark.parametrize("name", BACKBONES)
def test_output_contract_at_defaults(name, visual):
    """vggish 10x128 with res152 (segment-averaged) 10x2048 + r2plus1d 10x512, or CLIP 10x512 alone."""
    torch.manual_seed(0)
    visual_dims = LLP_INPUTS[visual]
    model = build_model(name, audio_dim=128, visual_dims=visual_dims)
    audio, vis = _inputs(3, visual_dims)
    for mode in ("train", "eval"):
        getattr(model, mode)()
        out = model(audio, vis)
        assert out.frame_prob.shape == (3, 10, 2, 25)
        for p in (out.global_prob, out.audio_prob, out.visual_prob, out.frame_prob):
            assert p.shape[0] == 3 and p.shape[-1] == 25 and (p >= 0).all() and (p <= 1).all()
    with torch.no_grad():  # eval: a video's prediction does not depend on the rest of its batch
        alone = model(audio[1:2], [v[1:2] for v in vis])
        together = model(audio, vis)
    assert torch.allclose(alone.frame_prob[0], together.frame_prob[1], atol=1e-5)
    assert torch.allclose(alone.global_prob[0], together.global_prob[1], atol=1e-5)


def _label_setup(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, Targets]:
    rng = np.random.default_rng(seed)
    y = np.zeros((n, 25), dtype=np.float32)
    for i in range(n):
        y[i, rng.choice(25, size=rng.integers(1, 4), replace=False)] = 1
    y = torch.as_tensor(y)
    seg = torch.as_tensor(video_label_everywhere(y.numpy()), dtype=torch.float32)
    return y, Targets(video=y, audio=smooth(y, 1.0), visual=smooth(y, 0.9), seg_visual=seg, seg_loss=segment_bce)


@pytest.mark.parametrize("name", BACKBONES)
def test_overfits_tiny_data(name):
    """16 random videos, HAN's targets plus a segment BCE and the backbone's own extra terms."""
    torch.manual_seed(0)
    model = build_model(name, audio_dim=128, visual_dims=(512,), **TINY[name])
    audio, visual = _inputs(16, (512,))
    y, targets = _label_setup()
    idx = torch.arange(16)
    lr, steps = OVERFIT[name]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(steps):
        model.train()
        out = model(audio, visual)
        loss = targets.loss(out, idx)
        first = loss.item() if first is None else first
        if hasattr(model, "auxiliary_loss"):
            loss = loss + model.auxiliary_loss(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        out = model(audio, visual)
    assert targets.loss(out, idx).item() < 0.3 * first
    assert torch.equal((out.global_prob >= 0.5).float(), y)


@pytest.mark.parametrize("name", BACKBONES)
def test_one_epoch_through_the_trainer(name, smoke_world, tmp_path):
    model = ModelConfig(name=name, options=TINY[name])
    cfg = RunConfig(name=f"bb-{name}", data=DataConfig(data_dir=str(smoke_world)), model=model,
                    train=TrainConfig(epochs=1, batch_size=32, step_size=1, seed=3))
    result = train(cfg, tmp_path, "cpu", progress=False)
    assert result.config.model == model and result.history()[-1]["epoch"] == 1
    assert all(0 <= v <= 100 for v in result.test.values())
    preds = result.predictions("train")
    assert preds["frame"].shape == (240, 10, 2, 25) and 0 <= preds["frame"].min() <= preds["frame"].max() <= 1


def test_model_config_selects_backbones_and_keeps_han_hashes():
    assert to_dict(ModelConfig()) == {"name": "han", "num_layers": 1, "share_layer": True, "dropout": 0.1}
    assert ModelConfig().kwargs() == {"num_layers": 1, "share_layer": True, "dropout": 0.1, "visual_dropout": 0.0}
    mgn = RunConfig(name="m", model=ModelConfig(name="mgn", options={"dim": 64}))
    assert from_dict(to_dict(mgn)) == mgn and mgn.model.kwargs() == {"dim": 64}
    with pytest.raises(ValueError, match="HAN's settings"):
        ModelConfig(name="mgn", dropout=0.2)
    with pytest.raises(ValueError, match="as model fields"):
        ModelConfig(options={"num_layers": 2})
    with pytest.raises(TypeError, match="'mm_pyramid' takes no option.*'dim'"):
        build_model("mm_pyramid", **ModelConfig(name="mm_pyramid", options={"dim": 64}).kwargs())
    assert set(MODELS) >= set(BACKBONES)


def test_mgn_token_loss_and_assignment_options():
    torch.manual_seed(0)
    model = MGN(visual_dims=(512,), **TINY["mgn"])
    out = model(*_inputs(2, (512,)))
    assert isinstance(out, MGNOutput) and out.token_logits.shape == (2, 25, 25)
    # zero-initialised tokens and zero classifier bias: every class equally likely, CE = 2 log 25
    assert torch.allclose(model.auxiliary_loss(out, None), torch.tensor(2 * np.log(25), dtype=torch.float32))
    hard = MGN(visual_dims=(512,), unimodal_assign="hard", **TINY["mgn"]).eval()
    frame = hard(*_inputs(2, (512,))).frame_prob
    assert ((frame > 0).sum(dim=-1) == 1).all()  # hard: each segment belongs to one class group
    with pytest.raises(ValueError, match="unimodal_assign"):
        MGN(unimodal_assign="gumbel")


def test_mm_pyramid_swapped_streams_only_swap_the_outputs():
    torch.manual_seed(0)
    upstream = MMPyramid(visual_dims=(512,), **TINY["mm_pyramid"]).eval()
    paper = MMPyramid(visual_dims=(512,), swapped_streams=False, **TINY["mm_pyramid"]).eval()
    paper.load_state_dict(upstream.state_dict())
    x = _inputs(2, (512,))
    a, b = upstream(*x), paper(*x)
    assert torch.allclose(a.frame_prob, b.frame_prob.flip(2)) and torch.allclose(a.audio_prob, b.visual_prob)
    assert torch.allclose(a.global_prob, b.global_prob, atol=1e-6)


def test_mm_pyramid_fixed_size_attention_sees_only_its_window():
    torch.manual_seed(0)
    layer = AttentionLayer(16, 2, 16, dropout=0.0, attn_dropout=0.0, window=2).eval()
    q, kv = torch.randn(1, 10, 16), torch.randn(1, 10, 16)
    changed = kv.clone()
    changed[0, 6] += 1.0  # segment 6 lies within 2 of segments 4..8 only
    moved = (layer(q, kv) - layer(q, changed)).abs().amax(dim=-1)[0] > 1e-6
    assert moved.tolist() == [t in range(4, 9) for t in range(10)]


def test_dhhn_guides_and_upstream_learning_rates():
    torch.manual_seed(0)
    model = DHHN(visual_dims=(512,), **TINY["dhhn"])
    x = _inputs(4, (512,))
    out = model.train()(*x)
    assert isinstance(out, DHHNOutput) and out.audio_guide_prob.shape == (4, 25)
    y, _ = _label_setup(4)
    model.auxiliary_loss(out, y).backward()
    assert model.audio_guide.fc_prob.weight.grad is not None and model.fc_prob.weight.grad is not None
    groups = model.param_groups(1e-3)
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 1e-3 * GUIDE_LR_SCALES["audio_guide"],
                                                       1e-3 * GUIDE_LR_SCALES["visual_guide"]])
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="guides"):
        model.auxiliary_loss(model.eval()(*x), y)
    assert DHHN(visual_dims=(512,), guides=False, **TINY["dhhn"]).train()(*x).audio_guide_prob is None


def test_dhhn_scales_upsample_by_repetition():
    x = torch.arange(2.0).reshape(1, 2, 1, 1).expand(1, 2, 2, 3)
    assert upsample_nearest(x, 10)[0, :, 0, 0].tolist() == [0.0] * 5 + [1.0] * 5
    x = torch.arange(5.0).reshape(1, 5, 1, 1).expand(1, 5, 2, 3)
    assert upsample_nearest(x, 10)[0, :, 1, 2].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]



def test_trainer_keeps_the_backbones_own_loss_terms_and_learning_rates():
    """SingleRunStack + StackedAdam take the steps of torch's Adam over DHHN's parameter groups on
    the supervision loss plus DHHN's auxiliary terms (guides x2 / x0.2 learning rates)."""
    from avvp_lib.optim import StackedAdam
    from avvp_lib.train import SingleRunStack, _run_output

    torch.manual_seed(0)
    ours = DHHN(visual_dims=(512,), **TINY["dhhn"])
    ref = DHHN(visual_dims=(512,), **TINY["dhhn"])
    ref.load_state_dict(ours.state_dict())
    stack = SingleRunStack(ours).train()
    assert sorted(set(stack.lr_scales())) == sorted({1.0, *GUIDE_LR_SCALES.values()})
    opt = StackedAdam(list(stack.parameters()), stacked=False, lr_scales=stack.lr_scales())
    torch_opt = torch.optim.Adam(ref.param_groups(1e-3))
    y, targets = _label_setup(4)
    idx = torch.arange(4)
    audio, visual = _inputs(4, (512,))
    for step in range(3):
        torch.manual_seed(step)  # the same dropout masks in both
        loss = targets.loss(_run_output(stack(audio[None], [visual[0][None]]), 0), idx) + stack.auxiliary_loss(y)
        opt.zero_grad()
        loss.backward()
        opt.step(torch.tensor([1e-3], dtype=torch.float64))
        torch.manual_seed(step)
        out = ref.train()(audio, visual)
        torch_opt.zero_grad()
        (targets.loss(out, idx) + ref.auxiliary_loss(out, y)).backward()
        torch_opt.step()
    assert ours.audio_guide.fc_prob.weight.grad is not None  # the guides learn
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert SingleRunStack(MMPyramid(visual_dims=(512,), **TINY["mm_pyramid"])).auxiliary_loss(y) is None


def test_mgn_class_token_loss_trains_through_the_trainer(smoke_world, tmp_path):
    """The trainer adds MGN's class-token loss: ``fc_cls`` (used by that loss only; biases start at 0) learns."""
    cfg = RunConfig(name="bb-mgn-tokens", data=DataConfig(data_dir=str(smoke_world)),
                    model=ModelConfig(name="mgn", options=TINY["mgn"]),
                    train=TrainConfig(epochs=1, batch_size=32, step_size=1, seed=3))
    state = torch.load(train(cfg, tmp_path, "cpu", progress=False).run_dir / "best.pt")
    assert state["fc_cls.bias"].abs().max() > 0 and state["fc_prob.bias"].abs().max() > 0
