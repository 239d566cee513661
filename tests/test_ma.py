import json

import pytest
import torch
from torch import nn

from avvp_lib.config import DataConfig, RunConfig, TrainConfig, from_dict, to_dict
from avvp_lib.data.annotations import load_weak_labels
from avvp_lib.methods.baseline import smooth
from avvp_lib.methods.ma import (ExchangePredictions, MAConfig, build_ma_targets, class_error_scale, exchange_flips,
                                 exchange_partners, exchange_predictions, flips_to_json, load_flips, ma_targets,
                                 refined_labels)
from avvp_lib.methods.vplan import video_precision_recall
from avvp_lib.models.han import HANOutput
from avvp_lib.paths import SHARED_LLP_DIR
from avvp_lib.train import BuildContext, load_run_data, selection_score, train
from avvp_lib.vocabulary import CLASS_INDEX

DOG, SPEECH, CAR, CAT, CHICKEN = (CLASS_INDEX[n] for n in ("Dog", "Speech", "Car", "Cat", "Chicken_rooster"))
DHHN_FLIPS = SHARED_LLP_DIR.parent / "upstream" / "DHHN" / "need_to_change.json"


def multi_hot(*rows):
    y = torch.zeros(len(rows), 25)
    for i, classes in enumerate(rows):
        y[i, list(classes)] = 1
    return y


class TrackReader(nn.Module):
    """A constructed model: each modality reports exactly the classes one-hot encoded in its own track."""

    def forward(self, audio, visual):
        a = 0.02 + 0.93 * audio.mean(1)
        v = 0.02 + 0.93 * visual[0].mean(1)
        frame = torch.stack([audio, visual[0]], dim=2) * 0.93 + 0.02
        return HANOutput(global_prob=torch.maximum(a, v), audio_prob=a, visual_prob=v, frame_prob=frame)


def test_partners_share_no_event():
    y = multi_hot({DOG}, {DOG, CAR}, {CAR}, {CAT})
    for seed in range(5):
        p = exchange_partners(y, seed)
        assert ((y * y[p]).sum(1) == 0).all()
        assert p[1] == 3  # the only video sharing nothing with {dog, car}
    assert torch.equal(exchange_partners(y, 3), exchange_partners(y, 3, chunk=1))
    draws = torch.stack([exchange_partners(y, s) for s in range(200)])
    assert set(draws[:, 3].tolist()) == {0, 1, 2}  # uniform over the candidates, not always the first
    with pytest.raises(ValueError, match="video 0 shares an event"):
        exchange_partners(multi_hot({DOG}, {DOG, CAR}), 0)


def test_class_error_scale():
    y = multi_hot({DOG, CAR}, {DOG}, {CAR}, {CAT})
    p = torch.full((4, 25), 0.1)
    p[0, DOG] = p[0, CAR] = p[2, CAR] = p[3, CAT] = 0.9  # dog missed once; then a false alarm:
    p[3, DOG] = 0.9
    scale = class_error_scale(p, y)
    assert scale[DOG] == 1.0 and scale[CAR] == 0.0 and scale[CAT] == 0.0
    p[2, CAR] = 0.2  # car missed once: half of dog's two errors
    assert class_error_scale(p, y)[CAR] == 0.5
    assert torch.equal(class_error_scale(y * 0.9, y), torch.zeros(25))  # no error anywhere: nothing to flip


def test_exchange_flips_exactly_the_labels_a_track_lacks():
    labels = multi_hot({DOG, SPEECH}, {CAR}, {CAT}, {CHICKEN})
    audible = multi_hot({DOG, SPEECH}, {CAR}, set(), {CHICKEN})  # the cat is silent
    visible = multi_hot({SPEECH}, {CAR}, {CAT}, {CHICKEN})  # the dog is off screen
    audio = audible[:, None, :].repeat(1, 10, 1)
    visual = [visible[:, None, :].repeat(1, 10, 1)]
    pred = exchange_predictions(TrackReader(), audio, visual, exchange_partners(labels, 0))
    flip_a, flip_v = exchange_flips(pred, labels)
    assert flip_v.nonzero().tolist() == [[0, DOG]]
    assert flip_a.nonzero().tolist() == [[2, CAT]]
    ref_a, ref_v = refined_labels(labels, flip_a, flip_v)
    assert torch.equal(ref_a, audible.bool()) and torch.equal(ref_v, visible.bool())


def test_flip_rule_needs_both_modalities_low():
    y = multi_hot({DOG}, {DOG})
    visual = y * 0.9 + 0.05
    visual[1, DOG] = 0.1  # one visual dog missed: the visual error scale of dog is 1, of every other class 0
    low = torch.full((2, 25), 0.1)
    pred = ExchangePredictions(audio=y * 0.9, visual=visual, own_audio_audio=y * 0.9, own_audio_visual=low,
                               own_visual_audio=low.clone(), own_visual_visual=low)
    pred.own_visual_audio[:, DOG] = 0.55  # the exchanged audio track still yields dog: not flipped
    assert not exchange_flips(pred, y)[1].any()
    pred.own_visual_audio[:, DOG] = 0.3
    assert exchange_flips(pred, y)[1].nonzero()[:, 1].tolist() == [DOG, DOG]
    assert not exchange_flips(pred, y, ratio=0.25)[1].any()  # 0.3 >= 0.25 * 1
    assert not exchange_flips(pred, y)[0].any()  # own audio kept and confident: no audio flip


def test_ma_targets_code_and_weak_fused():
    y = multi_hot({DOG, SPEECH}, {CAR})
    flip_a, flip_v = torch.zeros(2, 25, dtype=torch.bool), torch.zeros(2, 25, dtype=torch.bool)
    flip_a[0, DOG] = flip_v[0, SPEECH] = True
    t = ma_targets(y, flip_a, flip_v, MAConfig())
    assert t.audio[0, DOG] == 0 and t.audio[0, SPEECH] == 1 and t.audio[1, CAR] == 1
    assert t.visual[0, SPEECH] == 0 and t.visual[0, DOG] == pytest.approx(0.95) and t.visual[1, DOG] == pytest.approx(0.05)
    assert t.video[0, DOG] == 0 and t.video[0, SPEECH] == 1  # code: an audio flip leaves the fused target
    weak = ma_targets(y, flip_a, flip_v, MAConfig(fused_target="weak"))
    assert torch.equal(weak.video, y)
    with pytest.raises(ValueError, match="fused_target"):
        ma_targets(y, flip_a, flip_v, MAConfig(fused_target="both"))


def test_flips_json_round_trip_and_errors(tmp_path):
    y = multi_hot({DOG, SPEECH}, {CAR}, {CAT})
    flip_a, flip_v = torch.zeros(3, 25, dtype=torch.bool), torch.zeros(3, 25, dtype=torch.bool)
    flip_a[2, CAT] = flip_v[0, DOG] = True
    path = tmp_path / "flips.json"
    path.write_text(json.dumps(flips_to_json(flip_a, flip_v)))
    a, v = load_flips(path, y)
    assert torch.equal(a, flip_a) and torch.equal(v, flip_v)
    bad = flips_to_json(flip_a, flip_v)
    bad["need_to_change_v"]["Car"] = [0]  # video 0 has no car
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="flips.json.*do not have"):
        load_flips(path, y)
    path.write_text("{}")
    with pytest.raises(ValueError, match="not an MA flips file"):
        load_flips(path, y)


def test_published_ma_flips_load_on_real_llp(llp_dir):
    if not DHHN_FLIPS.is_file():
        pytest.skip(f"{DHHN_FLIPS} not found")
    _, _, labels = load_weak_labels(llp_dir / "AVVP_train.csv")
    flip_a, flip_v = load_flips(DHHN_FLIPS, torch.as_tensor(labels))
    assert (int(flip_v.sum()), int(flip_a.sum())) == (3591, 1528)  # counts stated in shared/upstream/SOURCE.md
    assert int(flip_v[:, CLASS_INDEX["Speech"]].sum()) == 3106


def test_ma_end_to_end_on_smoke_world(smoke_world, tmp_path):
    schedule = TrainConfig(epochs=2, batch_size=32, step_size=1, gamma=0.5, seed=3, select_metric="last")
    cfg = RunConfig(name="ma", data=DataConfig(data_dir=str(smoke_world)), train=schedule, supervision=MAConfig())
    assert from_dict(json.loads(json.dumps(to_dict(cfg)))) == cfg
    result = train(cfg, tmp_path, "cpu", progress=False)
    assert result.best_epoch == 2 and all(0 <= v <= 100 for v in result.test.values())  # "last": MA keeps epoch 2
    assert any(p.name.startswith("ma_base-") for p in tmp_path.iterdir())  # step 1's prerequisite run
    split = load_run_data(cfg.data)["train"]
    targets = build_ma_targets(cfg.supervision, BuildContext(cfg, {"train": split}, tmp_path, torch.device("cpu"), False))
    y = torch.as_tensor(split.labels, dtype=torch.float32)
    ref_a, ref_v = targets.audio > 0.5, targets.visual > 0.5
    assert (ref_a <= (y > 0)).all() and (ref_v <= (y > 0)).all()  # refined labels are subsets of the weak one
    assert (targets.audio != smooth(y, 1.0)).any() and (targets.visual != smooth(y, 0.9)).any()
    assert torch.equal(targets.video, y.masked_fill((y > 0) & ~ref_a, 0.0))  # code: audio flips leave y^{v∪a}
    for name, ref, gt in (("audio", ref_a, split.gt_audio), ("visual", ref_v, split.gt_visual)):
        before = video_precision_recall(split.labels, gt)
        after = video_precision_recall(ref.numpy(), gt)
        print(f"MA {name}: weak P/R {before['precision']:.1f}/{before['recall']:.1f} -> "
              f"refined {after['precision']:.1f}/{after['recall']:.1f} ({int((y > 0).sum() - ref.sum())} flips)")


def test_last_epoch_selection_score():
    assert selection_score({"seg_type": 50.0}, "last", 3) == 3.0 and selection_score({"seg_type": 50.0}, "seg_type", 3) == 50.0
