"""DHHN: the dual hierarchical hybrid network of Jiang et al. (ACM MM 2022).

Follows anonyUsr22/DHHN ``nets/net_audiovisual.py`` (``HCMN``, ``AudioNet``, ``VideoNet``) and
``main_avvp.py`` (its "origin" training, without label refinement).

- Hierarchical context modelling (HCMN): audio 128 -> 512 and visual kinds -> 512 fused as HAN;
  per modality three temporal scales, each Conv1d(kernel k, stride s, no bias) + BatchNorm + ReLU
  with (k, s) = (1, 1), (3, 2), (5, 5), giving 10, 5 and 2 steps. One hybrid attention layer
  (HAN's, 1 head, FFN 512, dropout 0.1), shared by both modalities and all scales, runs on each
  scale; the scales are upsampled (nearest) to 10 segments and summed cumulatively. HAN's attentive
  MMIL pooling runs on each cumulative sum and the four outputs are averaged over the scales.
- Modality-wise guiding networks (training only): an audio and a visual single-modality MIL
  network (post-norm transformer encoder, 8 heads, FFN 512, dropout 0.1, applied with a residual 4
  times with 1 layer for audio, 3 times with 2 layers for visual; temporal attention pooling).
  Upstream trains them with their own BCE against the video label and a term pushing them apart,
  and distils them into HCMN's audio and visual predictions while pushing those apart:
  ``DHHN.auxiliary_loss`` returns these terms and ``DHHN.param_groups`` upstream's learning
  rates (guides x2 audio, x0.2 visual); the trainer adds both (``train.SingleRunStack``).

Departures (documented):
- Upstream tests a "dual" model: HCMN's audio predictions from the checkpoint with the best
  validation audio score and its visual predictions from the checkpoint with the best visual score
  (two epochs of one HCMN). The trainer here keeps one checkpoint by its ``select_metric``; upstream
  also masks each modality by its own video-level prediction (``TrainConfig.inference="per_modality"``).
- The guides run only in training mode (their outputs are ``None`` in eval mode); two final
  LayerNorms upstream registers but never calls are left out.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from avvp_lib.losses import bce
from avvp_lib.models.han import HANOutput, HybridAttentionLayer, VisualProjection, attentive_mmil
from avvp_lib.vocabulary import NUM_CLASSES

GUIDE_LR_SCALES = {"audio_guide": 2.0, "visual_guide": 0.2}  # upstream main_avvp.py, mode "train"


@dataclass
class DHHNOutput(HANOutput):
    audio_guide_prob: Tensor | None = None  # [B, C] audio guiding network (training mode only)
    visual_guide_prob: Tensor | None = None  # [B, C] visual guiding network (training mode only)


class ScaleConv(nn.Module):
    """One temporal scale: Conv1d(k, stride s, padding k // 2, no bias), BatchNorm, ReLU; [B, T, D] -> [B, T_s, D]."""

    def __init__(self, d_model: int, kernel_size: int, stride: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(d_model, d_model, kernel_size, stride, kernel_size // 2, bias=False),
                                 nn.BatchNorm1d(d_model), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.transpose(1, 2)).transpose(1, 2)


def upsample_nearest(x: Tensor, length: int) -> Tensor:
    """[B, T_s, 2, D] -> [B, length, 2, D] by nearest-neighbour repetition in time."""
    b, t, m, d = x.shape
    up = F.interpolate(x.reshape(b, t, m * d).transpose(1, 2), size=length, mode="nearest")
    return up.transpose(1, 2).reshape(b, length, m, d)


class MILGuide(nn.Module):
    """A modality-wise guiding network (upstream ``AudioNet``/``VideoNet``).

    x <- x + Encoder(x), ``iterations`` times, then sum_t softmax_t(att(x)) * sigmoid(prob(x)).
    """

    def __init__(self, projection: nn.Module, d_model: int, num_layers: int, iterations: int, nhead: int,
                 dim_feedforward: int, dropout: float, num_classes: int):
        super().__init__()
        self.projection = projection
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.iterations = iterations
        self.fc_prob = nn.Linear(d_model, num_classes)
        self.fc_frame_att = nn.Linear(d_model, num_classes)

    def forward(self, inputs: Tensor | list[Tensor]) -> Tensor:
        x = self.projection(inputs)
        for _ in range(self.iterations):
            x = x + self.encoder(x)
        return (torch.softmax(self.fc_frame_att(x), dim=1) * torch.sigmoid(self.fc_prob(x))).sum(dim=1)


class DHHN(nn.Module):
    """DHHN (HCMN plus its training-time guiding networks) with inputs sized by the chosen feature kinds."""

    def __init__(self, audio_dim: int = 128, visual_dims: tuple[int, ...] = (2048, 512), d_model: int = 512,
                 nhead: int = 1, dim_feedforward: int = 512, dropout: float = 0.1,
                 scales: tuple[tuple[int, int], ...] = ((1, 1), (3, 2), (5, 5)), guides: bool = True,
                 guide_nhead: int = 8, audio_guide_layers: int = 1, audio_guide_iterations: int = 4,
                 visual_guide_layers: int = 2, visual_guide_iterations: int = 3, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.fc_a = nn.Linear(audio_dim, d_model)
        self.visual_proj = VisualProjection(visual_dims, d_model)
        self.conv_a = nn.ModuleList(ScaleConv(d_model, k, s) for k, s in scales)
        self.conv_v = nn.ModuleList(ScaleConv(d_model, k, s) for k, s in scales)
        self.han = HybridAttentionLayer(d_model, nhead, dim_feedforward, dropout)
        self.fc_prob = nn.Linear(d_model, num_classes)
        self.fc_frame_att = nn.Linear(d_model, num_classes)
        self.fc_av_att = nn.Linear(d_model, num_classes)
        self.audio_guide = self.visual_guide = None
        if guides:
            guide = dict(d_model=d_model, nhead=guide_nhead, dim_feedforward=dim_feedforward, dropout=dropout,
                         num_classes=num_classes)
            self.audio_guide = MILGuide(nn.Linear(audio_dim, d_model), num_layers=audio_guide_layers,
                                        iterations=audio_guide_iterations, **guide)
            self.visual_guide = MILGuide(VisualProjection(visual_dims, d_model), num_layers=visual_guide_layers,
                                         iterations=visual_guide_iterations, **guide)

    def hcmn(self, audio: Tensor, visual: list[Tensor]) -> HANOutput:
        """The hierarchical context modelling network: MMIL outputs averaged over the cumulative scales."""
        a0, v0 = self.fc_a(audio), self.visual_proj(visual)
        outs, acc = [], None
        for conv_a, conv_v in zip(self.conv_a, self.conv_v):
            a, v = conv_a(a0), conv_v(v0)
            x = upsample_nearest(torch.stack([self.han(a, v), self.han(v, a)], dim=2), a0.shape[1])
            acc = x if acc is None else acc + x
            outs.append(attentive_mmil(acc, self.fc_prob, self.fc_frame_att, self.fc_av_att))
        mean = lambda name: torch.stack([getattr(o, name) for o in outs]).mean(dim=0)  # noqa: E731
        return HANOutput(mean("global_prob"), mean("audio_prob"), mean("visual_prob"), mean("frame_prob"))

    def forward(self, audio: Tensor, visual: list[Tensor]) -> DHHNOutput:
        """``audio`` [B, T, Da]; ``visual`` one [B, T, Dv] tensor per visual kind."""
        out = self.hcmn(audio, visual)
        guided = self.training and self.audio_guide is not None
        return DHHNOutput(out.global_prob, out.audio_prob, out.visual_prob, out.frame_prob,
                          audio_guide_prob=self.audio_guide(audio) if guided else None,
                          visual_guide_prob=self.visual_guide(visual) if guided else None)

    def auxiliary_loss(self, out: DHHNOutput, video_label: Tensor) -> Tensor:
        """Upstream's extra terms: guides BCE(g_a, y) + BCE(g_v, y) - MSE(g_a, g_v), plus distillation
        MSE(p^a, g_a) + MSE(p^v, g_v) (guides detached) - MSE(p^a, p^v)."""
        g_a, g_v = out.audio_guide_prob, out.visual_guide_prob
        if g_a is None or g_v is None:
            raise ValueError("DHHN.auxiliary_loss needs the guides' predictions: a training-mode forward "
                             "of a DHHN built with guides=True")
        guides = bce(g_a, video_label) + bce(g_v, video_label) - F.mse_loss(g_a, g_v)
        distil = (F.mse_loss(out.audio_prob, g_a.detach()) + F.mse_loss(out.visual_prob, g_v.detach())
                  - F.mse_loss(out.audio_prob, out.visual_prob))
        return guides + distil

    def param_groups(self, lr: float) -> list[dict]:
        """Adam parameter groups with upstream's learning rates: HCMN ``lr``, guides ``lr`` x GUIDE_LR_SCALES."""
        guides = {name: getattr(self, name) for name in GUIDE_LR_SCALES if getattr(self, name) is not None}
        guide_ids = {id(p) for g in guides.values() for p in g.parameters()}
        groups = [{"params": [p for p in self.parameters() if id(p) not in guide_ids], "lr": lr}]
        return groups + [{"params": list(g.parameters()), "lr": lr * GUIDE_LR_SCALES[n]} for n, g in guides.items()]
