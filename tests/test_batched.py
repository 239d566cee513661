"""The batched trainer: a stack of R runs gives each run what it gets when trained alone."""
import dataclasses

import pytest
import torch

import avvp_lib.train as trainer
from avvp_lib.config import DataConfig, RunConfig, TrainConfig
from avvp_lib.methods import VPLANConfig
from avvp_lib.models import HAN
from avvp_lib.models.stacked_han import StackedHAN
from avvp_lib.optim import StackedAdam, step_lr
from avvp_lib.train import build_han, load_run_data, predict, score, split_inputs, train, train_group, train_many

TINY = TrainConfig(epochs=2, batch_size=32, lr=3e-4, step_size=1, gamma=0.5, seed=3)
FIELDS = ("global_prob", "audio_prob", "visual_prob", "frame_prob")


def grid(world) -> list[RunConfig]:
    """Four runs of one stack: two seeds, two learning rates, two supervisions, two selection metrics."""
    base = RunConfig(name="g", data=DataConfig(data_dir=str(world)), train=TINY)
    return [base.replace(name="g_han_s3"),
            base.replace(name="g_han_s4_lr", train=dataclasses.replace(TINY, seed=4, lr=1e-3, gamma=0.1)),
            base.replace(name="g_plg_bce", supervision=VPLANConfig(seg_loss="bce")),
            base.replace(name="g_plg_rl_s5", train=dataclasses.replace(TINY, seed=5, select_metric="evt_type"),
                         supervision=VPLANConfig(seg_loss="richness"))]


@pytest.fixture(scope="module")
def sequential(smoke_world, tmp_path_factory):
    """The four runs trained one after the other (the reference)."""
    runs_dir = tmp_path_factory.mktemp("sequential")
    return [train(c, runs_dir, "cpu", progress=False) for c in grid(smoke_world)]


def assert_same_runs(results, reference):
    for got, want in zip(results, reference):
        assert got.config == want.config and got.best_epoch == want.best_epoch
        for split in ("val", "test"):
            for k, v in getattr(want, split).items():
                assert getattr(got, split)[k] == pytest.approx(v, abs=1e-4), (got.config.name, split, k)
        for h_got, h_want in zip(got.history(), want.history(), strict=True):
            assert h_got["loss"] == pytest.approx(h_want["loss"], abs=1e-5)


@pytest.mark.parametrize("visual_dims, share, layers", [((2048, 512), True, 1), ((512,), False, 2)])
def test_stacked_han_equals_han(visual_dims, share, layers):
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(HAN(visual_dims=visual_dims, share_layer=share, num_layers=layers, dropout=0.0))
    stack = StackedHAN(models)
    audio, visual = torch.randn(3, 4, 10, 128), [torch.randn(3, 4, 10, d) for d in visual_dims]
    out = stack(audio, visual)
    shared = stack(audio[0], [v[0] for v in visual], shared=True)
    sum(getattr(out, f).sum() for f in FIELDS).backward()
    for r, m in enumerate(models):
        ref = m(audio[r], [v[r] for v in visual])
        ref_shared = m(audio[0], [v[0] for v in visual])
        for f in FIELDS:
            torch.testing.assert_close(getattr(out, f)[r], getattr(ref, f), atol=1e-5, rtol=0)
            torch.testing.assert_close(getattr(shared, f)[r], getattr(ref_shared, f), atol=1e-5, rtol=0)
        sum(getattr(ref, f).sum() for f in FIELDS).backward()
        for name, p in m.named_parameters():  # gradients stay per run (linear weights are stored transposed)
            grad = stack.p(name).grad[r]
            torch.testing.assert_close(grad.T if grad.dim() == 2 else grad, p.grad, atol=1e-5, rtol=1e-4)
        fresh = HAN(visual_dims=visual_dims, share_layer=share, num_layers=layers)
        fresh.load_state_dict(stack.run_state_dict(r))  # HAN's key names, strict
        assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), m.state_dict().values()))


def test_stacked_dropout_does_not_depend_on_the_other_runs():
    torch.manual_seed(0)
    models = [HAN(visual_dims=(512,)) for _ in range(3)]
    audio, visual = torch.randn(4, 10, 128), [torch.randn(4, 10, 512)]
    alone = StackedHAN(models[1:2]).train()(audio[None], [visual[0][None]], generators=[torch.Generator().manual_seed(7)])
    stack = StackedHAN(models).train()
    gens = [torch.Generator().manual_seed(s) for s in (1, 7, 2)]
    together = stack(audio.expand(3, -1, -1, -1), [visual[0].expand(3, -1, -1, -1)], generators=gens)
    torch.testing.assert_close(together.frame_prob[1], alone.frame_prob[0], atol=1e-6, rtol=0)
    assert not torch.allclose(together.frame_prob[0], together.frame_prob[1])  # dropout is active
    with pytest.raises(ValueError, match="Generator per run"):
        stack(audio.expand(3, -1, -1, -1), [visual[0].expand(3, -1, -1, -1)])


def test_stacked_adam_and_step_lr_match_torch():
    torch.manual_seed(0)
    lrs, step, gamma = [3e-4, 1e-3, 6e-4], 2, 0.1
    ref = [torch.randn(5, 7, requires_grad=True) for _ in lrs]
    stacked = torch.stack([p.detach() for p in ref]).requires_grad_()
    opts = [torch.optim.Adam([p], lr=lr) for p, lr in zip(ref, lrs)]
    scheds = [torch.optim.lr_scheduler.StepLR(o, step, gamma) for o in opts]
    adam = StackedAdam([stacked])
    for epoch in range(5):
        lr = torch.tensor([step_lr(x, step, gamma, epoch) for x in lrs], dtype=torch.float64)
        assert lr.tolist() == [o.param_groups[0]["lr"] for o in opts]
        for _ in range(3):
            grad = torch.randn(len(lrs), 5, 7)
            for p, o, g in zip(ref, opts, grad):
                p.grad = g.clone()
                o.step()
            stacked.grad = grad
            adam.step(lr)
        for s in scheds:
            s.step()
    for r, p in enumerate(ref):
        torch.testing.assert_close(stacked[r], p, atol=1e-7, rtol=1e-6)


def test_batched_equals_sequential(smoke_world, tmp_path, sequential):
    batched = train_group(grid(smoke_world), tmp_path, "cpu", progress=False)
    assert_same_runs(batched, sequential)
    assert len({r.run_dir for r in batched}) == 4 and all(r.run_dir.parent == tmp_path for r in batched)
    # best.pt is an ordinary HAN state_dict that reproduces the run's val scores
    cfg, data = batched[1].config, load_run_data(batched[1].config.data)
    model = build_han(cfg, data["train"])
    model.load_state_dict(torch.load(batched[1].run_dir / "best.pt"))
    val = score(predict(model, *split_inputs(data["val"], cfg.data, torch.device("cpu"))), data["val"])
    assert val == pytest.approx(batched[1].val, abs=1e-4)


def test_interrupted_group_resumes_to_the_same_result(smoke_world, tmp_path, monkeypatch, sequential,
                                                      interrupt_after_first_epoch):
    configs = grid(smoke_world)[:3]
    with pytest.raises(KeyboardInterrupt):  # run 0 has finished epoch 1, the others have not
        train_group(configs, tmp_path, "cpu", progress=False)
    interrupt_after_first_epoch()  # restore the real writer
    assert len(list(tmp_path.glob("*/last.pt"))) == 1 and not list(tmp_path.glob("*/results.json"))
    stacks, real_fit = [], trainer._fit
    monkeypatch.setattr(trainer, "_fit", lambda runs, *a: stacks.append(len(runs)) or real_fit(runs, *a))
    resumed = train_group(configs, tmp_path, "cpu", progress=False)
    assert sorted(stacks) == [1, 2]  # the resumed run and the two fresh ones train as two stacks
    assert_same_runs(resumed, sequential[:3])
    assert not list(tmp_path.glob("*/last.pt"))


def test_train_many_groups_skips_finished_and_runs_prerequisites(smoke_world, tmp_path, monkeypatch):
    one = dataclasses.replace(TINY, epochs=1)
    base = RunConfig(name="m", data=DataConfig(data_dir=str(smoke_world)), train=one)
    done = train(base.replace(name="m_done"), tmp_path, "cpu", progress=False)
    mtime = (done.run_dir / "results.json").stat().st_mtime_ns
    configs = [base.replace(name="m_done"), base.replace(name="m_s4", train=dataclasses.replace(one, seed=4)),
               base.replace(name="m_lr", train=dataclasses.replace(one, lr=1e-3)),
               base.replace(name="m_pld", supervision=VPLANConfig(pseudo="pld")),
               base.replace(name="m_b64", train=dataclasses.replace(one, batch_size=64))]
    stacks, real_fit = [], trainer._fit
    monkeypatch.setattr(trainer, "_fit", lambda runs, *a: stacks.append([r.config.name for r in runs]) or real_fit(runs, *a))
    results = train_many(configs, tmp_path, "cpu", progress=False, max_runs=2)
    assert (done.run_dir / "results.json").stat().st_mtime_ns == mtime  # loaded, not recomputed
    assert [r.config for r in results] == configs and results[0].test == done.test
    # stacks of at most two runs sharing data, model, epochs and batch size; PLD's eq. 9
    # prerequisite (methods.requires) is planned in the layer before PLD, stacked like any run
    assert stacks == [["m_s4", "m_lr"], ["vplan_plg_rl"], ["m_b64"], ["m_pld"]]


def test_ordinary_backbone_path_equals_stacked_han(smoke_world, tmp_path, monkeypatch):
    """Without dropout, HAN trained through the one-run fallback (any backbone) matches StackedHAN."""
    cfg = RunConfig(name="nodrop", data=DataConfig(data_dir=str(smoke_world)), train=dataclasses.replace(TINY, epochs=1),
                    model=dataclasses.replace(RunConfig("x").model, dropout=0.0))
    stacked = train(cfg, tmp_path / "stacked", "cpu", progress=False)
    monkeypatch.setattr(trainer, "STACKABLE_MODELS", ())
    stacks, real_fit = [], trainer._fit
    monkeypatch.setattr(trainer, "_fit", lambda runs, *a: stacks.append(len(runs)) or real_fit(runs, *a))
    plain = train_group([cfg, cfg.replace(name="nodrop_s4", train=dataclasses.replace(cfg.train, seed=4))],
                        tmp_path / "plain", "cpu", progress=False)
    assert stacks == [1, 1]  # one run at a time
    assert_same_runs(plain[:1], [stacked])
