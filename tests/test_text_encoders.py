import numpy as np
import pytest
import torch

from avvp_lib.clip_encoder import ClipEncoder, WeightsUnavailable
from avvp_lib.extract.models import tiny_clip_encoder
from avvp_lib.synthetic.latent import LatentSpace
from avvp_lib.synthetic.text_encoder import SyntheticTextEncoder, world_seed, world_text
from avvp_lib.synthetic.world import WORLD_FILE
from avvp_lib.vocabulary import CLASS_INDEX


def test_synthetic_encoder_is_a_bag_of_class_words():
    enc = SyntheticTextEncoder(LatentSpace.from_seed(0))
    e = enc.encode_text(["dog", "not dog", "This photo contains the dog", "cat and dog", "other", "none"])
    assert e.shape == (6, 512) and torch.allclose(e.norm(dim=1), torch.ones(6))
    proto = torch.as_tensor(enc.space.prototypes)
    assert (e[0] @ proto.T).argmax() == CLASS_INDEX["Dog"]
    assert e[0] @ e[1] > 0.9  # the negation barely registers
    both = e[3] @ proto.T
    assert set(both.topk(2).indices.tolist()) == {CLASS_INDEX["Dog"], CLASS_INDEX["Cat"]}
    assert e[4] @ torch.as_tensor(enc.space.background) > 0.99
    assert torch.equal(enc.encode_text(["dog"]), enc.encode_text(["dog"]))


def test_the_build_context_picks_the_world_encoder_from_the_world_file(smoke_world, tmp_path):
    """The data decides: a world's seed and text parameters (read once) give its synthetic encoder; a folder with
    no world file none."""
    from avvp_lib.config import DataConfig, RunConfig
    from avvp_lib.train import BuildContext

    ctx = BuildContext(RunConfig("x", DataConfig(data_dir=str(smoke_world))), {}, tmp_path, torch.device("cpu"))
    world = world_text(smoke_world)
    assert ctx.world == world and world.seed == world_seed(smoke_world) and world_text(tmp_path) is None
    assert world.clip_gap > 0  # the calibrated world (calibration.json)
    enc = ctx.text_encoder("clip_vitb16")
    assert isinstance(enc, SyntheticTextEncoder)
    assert torch.equal(enc.encode_text(["dog"]), SyntheticTextEncoder.for_world(world).encode_text(["dog"]))
    (tmp_path / WORLD_FILE).write_text("{}")
    with pytest.raises(ValueError, match=f"{WORLD_FILE}: not a synthetic world file"):
        world_seed(tmp_path)


def test_tiny_open_clip_wrapper():
    enc = tiny_clip_encoder()
    text = enc.encode_text(["a dog", "a cat", "a dog"], batch_size=1)
    assert text.shape == (3, 512) and torch.allclose(text.norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.equal(text[0], text[2])
    imgs = [np.random.default_rng(i).integers(0, 255, (120, 160, 3), dtype=np.uint8) for i in range(5)]
    emb = enc.encode_images(imgs, batch_size=2)
    assert emb.shape == (5, 512) and torch.allclose(emb.norm(dim=1), torch.ones(5), atol=1e-5)
    assert torch.allclose(emb, enc.encode_images(imgs, batch_size=5), atol=1e-5)


def test_missing_weights_fail_fast_with_instructions(tmp_path):
    with pytest.raises(WeightsUnavailable, match="not found.*pretrained="):
        ClipEncoder.for_kind("clip_vitb16", pretrained=str(tmp_path / "missing.pt"))
    with pytest.raises(WeightsUnavailable, match="AVVP_CLIP_CHECKPOINT_VITB32"):
        ClipEncoder.for_kind("clip_vitb32")  # "openai" weights: not cached, HF_HUB_OFFLINE=1
    with pytest.raises(KeyError, match="unknown CLIP feature kind"):
        ClipEncoder.for_kind("clip_vitl14")
