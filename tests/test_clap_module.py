"""``ClapEncoder`` on a tiny random ``laion_clap.CLAP_Module``: the real class, loaded from a local checkpoint.

laion-clap 1.1.7 needs numpy<2, so it lives in an environment of its own (``requirements-clap.txt``);
``scripts/test_clap_env.sh`` builds it and runs this file there (CI does; CI fails if it skips). In the
bundle's ``.venv`` the file skips. No weights exist here: the Hugging Face files CLAP_Module loads by
name (the ``roberta-base`` model and tokenizer, the ``bert-base-uncased`` and ``facebook/bart-base``
tokenizers its data module builds on import) are written as tiny random stand-ins into a fresh
``HF_HOME``, and the checkpoint is a random CLAP_Module saved the way LAION's releases are
(``{"state_dict": {"module.<name>": ...}}`` with RoBERTa's ``position_ids``).
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("laion_clap") is None:
    pytest.skip("laion_clap is not installed here: scripts/test_clap_env.sh runs this file in its own environment",
                allow_module_level=True)

import torch  # noqa: E402

from avvp_lib.clap_encoder import ClapEncoder  # noqa: E402

REVISION = "0" * 40
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "clap_text_embeddings.py"
TINY_ROBERTA = dict(vocab_size=262, hidden_size=768, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=80)  # width 768: CLAP's text projection input


def _byte_alphabet() -> list[str]:
    """GPT-2's printable stand-in for each of the 256 bytes (the alphabet of a byte-level BPE vocabulary)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    extra = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(extra)) for b in range(256)]


def _snapshot(hub: Path, repo: str) -> Path:
    """An offline Hugging Face cache entry for ``repo`` (refs/main -> one snapshot folder)."""
    root = hub / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(REVISION)
    snap = root / "snapshots" / REVISION
    snap.mkdir(parents=True)
    return snap


def _write_tiny_hub(hub: Path) -> None:
    """Byte-level tokenizers with no merges, a WordPiece one, and a random one-layer RoBERTa."""
    from transformers import RobertaConfig, RobertaModel

    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", *_byte_alphabet(), "<mask>"])}
    for repo in ("roberta-base", "facebook/bart-base"):
        snap = _snapshot(hub, repo)
        (snap / "vocab.json").write_text(json.dumps(vocab))
        (snap / "merges.txt").write_text("#version: 0.2\n")
    (_snapshot(hub, "bert-base-uncased") / "vocab.txt").write_text("\n".join(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"this is a sound of dog speech and other".split()]) + "\n")
    torch.manual_seed(0)
    RobertaModel(RobertaConfig(**TINY_ROBERTA)).save_pretrained(hub / "models--roberta-base" / "snapshots" / REVISION)


@pytest.fixture(scope="module")
def clap(tmp_path_factory):
    """(laion_clap module, a random CLAP_Module, the path of its checkpoint in LAION's release format)."""
    home = tmp_path_factory.mktemp("hf_home")
    previous = {k: os.environ.get(k) for k in ("HF_HOME", "HF_HUB_OFFLINE")}
    os.environ.update(HF_HOME=str(home), HF_HUB_OFFLINE="1")
    import huggingface_hub.constants

    if not Path(huggingface_hub.constants.HF_HUB_CACHE).is_relative_to(home):
        pytest.fail("huggingface_hub was imported before this file set HF_HOME: run the file on its own "
                    "(scripts/test_clap_env.sh)")
    _write_tiny_hub(home / "hub")
    import laion_clap

    torch.manual_seed(1)
    module = laion_clap.CLAP_Module(enable_fusion=False, amodel="HTSAT-tiny", device="cpu")
    state = {f"module.{k}": v for k, v in module.model.state_dict().items()}
    state["module.text_branch.embeddings.position_ids"] = torch.arange(TINY_ROBERTA["max_position_embeddings"])[None]
    ckpt = tmp_path_factory.mktemp("clap") / "630k-audioset-best.pt"
    torch.save({"epoch": 1, "state_dict": state}, ckpt)
    yield laion_clap, module, ckpt
    for k, v in previous.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def test_encoder_loads_the_checkpoint_and_matches_the_module(clap):
    """The wrapper builds a fresh CLAP_Module, loads the local file, and returns its unit-norm text embeddings."""
    laion_clap, module, ckpt = clap
    prompts = ["This is a sound of dog", "This is a sound of speech and dog", "other"]
    enc = ClapEncoder.for_kind("clap_audioset", str(ckpt), "cpu")
    emb = enc.encode_text(prompts)
    assert emb.shape == (3, 512) and emb.dtype == torch.float32 and emb.device.type == "cpu"
    assert torch.allclose(emb.norm(dim=-1), torch.ones(3), atol=1e-5)
    ref = torch.nn.functional.normalize(module.get_text_embedding(prompts, use_tensor=True).detach(), dim=-1)
    assert torch.allclose(emb, ref, atol=1e-5)
    torch.manual_seed(2)  # the same architecture with other weights: what loading replaced
    other = laion_clap.CLAP_Module(enable_fusion=False, amodel="HTSAT-tiny", device="cpu")
    unloaded = torch.nn.functional.normalize(other.get_text_embedding(prompts, use_tensor=True).detach(), dim=-1)
    assert not torch.allclose(emb, unloaded, atol=1e-3)


def test_each_prompt_is_encoded_once_and_order_is_kept(clap):
    _, _, ckpt = clap
    enc = ClapEncoder.for_kind("clap_audioset", str(ckpt), "cpu")
    first = enc.encode_text(["b sound", "a sound"])
    again = enc.encode_text(["a sound", "b sound", "a sound"])
    assert sorted(enc._text_cache) == ["a sound", "b sound"]
    assert torch.equal(again, first[[1, 0, 1]])


def test_lsld_audio_denoising_runs_on_the_real_encoder(clap):
    """LSLD's audio step (subset prompts + "other", argmax per segment) keeps labels inside the weak label."""
    from avvp_lib.methods.lsld_audio import denoise_audio_segments
    from avvp_lib.vocabulary import CLASS_INDEX, NUM_CLASSES

    _, _, ckpt = clap
    enc = ClapEncoder.for_kind("clap_audioset", str(ckpt), "cpu")
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((2, 10, 512)).astype(np.float32)
    weak = np.zeros((2, NUM_CLASSES), np.uint8)
    weak[0, [CLASS_INDEX["Speech"], CLASS_INDEX["Dog"]]] = 1
    weak[1, CLASS_INDEX["Violin_fiddle"]] = 1
    labels = denoise_audio_segments(feats, weak, enc)  # the official code's variant
    assert labels.shape == (2, 10, NUM_CLASSES)
    assert not (labels & (1 - weak[:, None, :])).any()


def test_text_embeddings_made_here_serve_an_environment_without_laion_clap(clap, tmp_path):
    """scripts/clap_text_embeddings.py writes the ClapTextTable file (AVVP_CLAP_TEXT) that the bundle's
    environment reads instead of a checkpoint: the same embeddings, the checkpoint's hash recorded."""
    import hashlib

    from avvp_lib.clap_encoder import ClapTextTable

    _, _, ckpt = clap
    prompts = ["This is a sound of dog", "This is a sound of other"]
    (tmp_path / "prompts.txt").write_text("\n".join(prompts) + "\n")
    spec = importlib.util.spec_from_file_location("clap_text_embeddings", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "clap_text.npz"
    assert script.main([str(tmp_path / "prompts.txt"), "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu"]) == 0
    table = ClapTextTable(out, "clap_audioset")
    assert torch.allclose(table.encode_text(prompts[::-1]),
                          ClapEncoder.for_kind("clap_audioset", str(ckpt), "cpu").encode_text(prompts[::-1]), atol=1e-6)
    assert table.checkpoint_sha256 == hashlib.sha256(ckpt.read_bytes()).hexdigest()
