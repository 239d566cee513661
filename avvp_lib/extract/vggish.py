"""VGGish (Hershey et al., ICASSP 2017) in PyTorch: log-mel frontend and the VGG-like network.

Module names follow the common PyTorch port (``features`` / ``embeddings``), so its state dict
(e.g. ``vggish-10086976.pth``) loads with ``load_vggish(path)``. No weights are downloaded; the
PCA/quantisation post-processing of the TensorFlow release is not applied.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16000
WINDOW, HOP, N_FFT = 400, 160, 512  # 25 ms window, 10 ms hop
N_MELS, FMIN, FMAX = 64, 125.0, 7500.0
EXAMPLE_FRAMES = 96  # one 0.96 s example


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(f / 700.0)  # HTK mel scale, as VGGish's mel_features


def mel_filterbank() -> np.ndarray:
    """[N_FFT // 2 + 1, 64] triangular HTK mel filters between 125 and 7500 Hz."""
    bins = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = np.linspace(_hz_to_mel(np.array(FMIN)), _hz_to_mel(np.array(FMAX)), N_MELS + 2)
    mel = _hz_to_mel(bins)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    up = (mel[:, None] - lower) / (center - lower)
    down = (upper - mel[:, None]) / (upper - center)
    fb = np.maximum(0, np.minimum(up, down))
    fb[0] = 0.0
    return fb.astype(np.float32)


def log_mel_examples(audio: np.ndarray, seconds: int = 10) -> torch.Tensor:
    """One 96x64 log-mel example per second: [seconds, 1, 96, 64] (log(mel + 0.01), as VGGish)."""
    x = torch.as_tensor(audio, dtype=torch.float32)
    spec = torch.stft(x, N_FFT, HOP, WINDOW, torch.hann_window(WINDOW, periodic=True), center=False,
                      return_complex=True).abs().T  # [frames, bins]
    logmel = torch.log(spec @ torch.as_tensor(mel_filterbank()) + 0.01)
    need = (seconds - 1) * 100 + EXAMPLE_FRAMES
    if logmel.shape[0] < need:
        logmel = torch.cat([logmel, logmel[-1:].expand(need - logmel.shape[0], -1)])
    return torch.stack([logmel[t * 100:t * 100 + EXAMPLE_FRAMES] for t in range(seconds)])[:, None]


class VGGish(nn.Module):
    """The VGGish network; ``channels``/``hidden`` shrink it for tests (defaults: the real sizes)."""

    def __init__(self, channels: tuple[int, int, int, int] = (64, 128, 256, 512), hidden: int = 4096):
        super().__init__()
        c1, c2, c3, c4 = channels
        conv = lambda i, o: [nn.Conv2d(i, o, 3, padding=1), nn.ReLU(inplace=True)]  # noqa: E731
        pool = lambda: [nn.MaxPool2d(2, 2)]  # noqa: E731
        self.features = nn.Sequential(*conv(1, c1), *pool(), *conv(c1, c2), *pool(), *conv(c2, c3), *conv(c3, c3),
                                      *pool(), *conv(c3, c4), *conv(c4, c4), *pool())
        self.embeddings = nn.Sequential(nn.Linear(c4 * 6 * 4, hidden), nn.ReLU(True), nn.Linear(hidden, hidden),
                                        nn.ReLU(True), nn.Linear(hidden, 128), nn.ReLU(True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 1, 96, 64] log-mel examples -> [B, 128] embeddings."""
        x = self.features(x)
        return self.embeddings(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))


def load_vggish(path: str | Path | None) -> VGGish:
    """VGGish with weights from a local state dict; raises a clear error without one."""
    from avvp_lib.clip_encoder import WeightsUnavailable

    if path is None or not Path(path).is_file():
        raise WeightsUnavailable(
            f"VGGish weights not found ({path}). Pass --vggish-weights /path/to/vggish.pth: a PyTorch state dict "
            "with 'features.*' and 'embeddings.*' keys (the torchvggish port's vggish-10086976.pth), downloaded on "
            "a machine with network access. Nothing is downloaded at run time.")
    model = VGGish()
    try:
        model.load_state_dict(torch.load(path, map_location="cpu"))
    except Exception as err:  # torch raises many kinds for a truncated, pickled or mismatched file
        raise WeightsUnavailable(f"{path}: not a loadable VGGish state dict ({' '.join(str(err).split())[:300]}); "
                                 "pass the torchvggish port's vggish-10086976.pth, downloaded again if truncated") from None
    return model.eval()


@torch.no_grad()
def embed_audio(model: VGGish, audio: np.ndarray, device: str = "cpu") -> np.ndarray:
    """10 s of 16 kHz audio -> [10, 128] float32 embeddings (one per second)."""
    return model.to(device)(log_mel_examples(audio).to(device)).float().cpu().numpy()
