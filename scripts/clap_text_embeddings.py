"""CLAP text embeddings of a list of prompts, for environments without laion_clap (``ClapTextTable``).

Run in the CLAP environment (``requirements-clap.txt``; laion-clap needs numpy<2), on the prompts
``python -m avvp_lib clap-prompts`` wrote in the bundle's environment::

    .venv-clap/bin/python scripts/clap_text_embeddings.py prompts.txt --checkpoint 630k-audioset-best.pt \\
        --out clap_text.npz

then ``AVVP_CLAP_TEXT=clap_text.npz`` (or ``reproduce --clap-text clap_text.npz``) in the bundle's
environment. Of the bundle's dependencies it needs only numpy and torch.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avvp_lib.clap_encoder import CLAP_MODELS, ClapEncoder, resolve_checkpoint, save_text_table  # noqa: E402
from avvp_lib.clip_encoder import WeightsUnavailable  # noqa: E402
from avvp_lib.text_encoders import file_sha256  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompts", type=Path, help="text file, one prompt per line (python -m avvp_lib clap-prompts)")
    p.add_argument("--out", required=True, type=Path, help="the .npz to write")
    p.add_argument("--kind", default="clap_audioset", choices=sorted(CLAP_MODELS))
    p.add_argument("--checkpoint", default=None, help="local CLAP checkpoint (default: $AVVP_CLAP_CHECKPOINT)")
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    prompts = [line for line in args.prompts.read_text(encoding="utf-8").splitlines() if line]
    if not prompts:
        sys.exit(f"error: {args.prompts}: no prompts")
    try:
        _, _, checkpoint = resolve_checkpoint(args.kind, args.checkpoint)
        embeddings = ClapEncoder.for_kind(args.kind, checkpoint, args.device).encode_text(prompts)
    except WeightsUnavailable as err:
        sys.exit(f"error: {err}")
    save_text_table(args.out, args.kind, prompts, embeddings, file_sha256(Path(checkpoint)))
    print(f"{len(prompts)} CLAP text embeddings ({args.kind}, {tuple(embeddings.shape)}) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
