"""HAN: the hybrid attention network of Tian et al. (ECCV 2020), "MMIL_Net" upstream.

Audio 128 -> 512; each visual feature kind -> 512, fused by a linear layer when there are
several (ResNet-152 2048 + R(2+1)D 512 upstream); one hybrid attention layer (self-attention
+ cross-modal attention, 1 head, FFN 512, dropout 0.1, post-norm); a shared 512 -> 25
classifier with sigmoid; attentive MMIL pooling (LSLD eq. 1). ``visual_dropout`` > 0 drops the
visual segment features after the attention layers, before the classifier (fyyCS/LSLD
``nets/net_audiovisual.py``: ``MMIL_Net(cls_dropout=0.5)`` applies ``nn.Dropout(0.5)`` to ``x2``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from avvp_lib.vocabulary import NUM_CLASSES


@dataclass
class HANOutput:
    global_prob: Tensor  # [B, C] fused video-level p^{v∪a}
    audio_prob: Tensor  # [B, C] p^a
    visual_prob: Tensor  # [B, C] p^v
    frame_prob: Tensor  # [B, T, 2, C] segment probabilities (audio, visual)


class VisualProjection(nn.Module):
    """Each visual feature kind -> ``d_model``, fused by a linear layer when there are several (as HAN).

    The new backbones use this module; HAN keeps its own ``fc_visual``/``fc_fusion`` attributes so
    that its saved weights keep their names.
    """

    def __init__(self, visual_dims: tuple[int, ...], d_model: int):
        super().__init__()
        if not visual_dims:
            raise ValueError("a backbone needs at least one visual feature kind")
        self.fc_visual = nn.ModuleList(nn.Linear(d, d_model) for d in visual_dims)
        self.fc_fusion = nn.Linear(d_model * len(visual_dims), d_model) if len(visual_dims) > 1 else None

    def forward(self, visual: list[Tensor]) -> Tensor:
        """One [B, T, Dv] tensor per visual kind (frames already segment-averaged) -> [B, T, d_model]."""
        v = [fc(x) for fc, x in zip(self.fc_visual, visual)]
        return self.fc_fusion(torch.cat(v, dim=-1)) if self.fc_fusion is not None else v[0]


def attentive_mmil(x: Tensor, fc_prob: nn.Linear, fc_frame_att: nn.Linear, fc_av_att: nn.Linear) -> HANOutput:
    """Attentive MMIL pooling (HAN; LSLD eq. 1) of segment features ``x`` [B, T, 2, D] (audio, visual).

    Segment probabilities sigmoid(fc_prob(x)), weighted by a softmax over time and, for the
    fused prediction, by a softmax over the two modalities.
    """
    frame_prob = torch.sigmoid(fc_prob(x))
    temporal = torch.softmax(fc_frame_att(x), dim=1) * frame_prob
    av_att = torch.softmax(fc_av_att(x), dim=2)
    return HANOutput(global_prob=(temporal * av_att).sum(dim=(1, 2)), audio_prob=temporal[:, :, 0].sum(1),
                     visual_prob=temporal[:, :, 1].sum(1), frame_prob=frame_prob)


class HybridAttentionLayer(nn.Module):
    """x + SelfAttn(x) + CrossAttn(x, y), LayerNorm, then FFN with residual and LayerNorm (HAN eq. 1)."""

    def __init__(self, d_model: int = 512, nhead: int = 1, dim_feedforward: int = 512, dropout: float = 0.1):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.cm_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.drop_cm, self.drop_self, self.drop_ffn, self.drop_out = (nn.Dropout(dropout) for _ in range(4))

    def forward(self, x: Tensor, other: Tensor) -> Tensor:
        cross = self.cm_attn(x, other, other, need_weights=False)[0]
        own = self.self_attn(x, x, x, need_weights=False)[0]
        x = self.norm1(x + self.drop_cm(cross) + self.drop_self(own))
        return self.norm2(x + self.drop_out(self.linear2(self.drop_ffn(F.relu(self.linear1(x))))))


class HAN(nn.Module):
    """HAN with inputs sized by the chosen feature kinds.

    ``share_layer=True`` (upstream) applies one hybrid attention layer to both modalities;
    ``False`` gives each modality its own. Upstream feeds every layer the original inputs
    (harmless for the default single layer); here layers are stacked.
    """

    def __init__(self, audio_dim: int = 128, visual_dims: tuple[int, ...] = (2048, 512), d_model: int = 512,
                 nhead: int = 1, dim_feedforward: int = 512, dropout: float = 0.1, num_layers: int = 1,
                 share_layer: bool = True, num_classes: int = NUM_CLASSES, visual_dropout: float = 0.0):
        super().__init__()
        if not visual_dims:
            raise ValueError("HAN needs at least one visual feature kind")
        if not 0 <= visual_dropout < 1:
            raise ValueError(f"visual_dropout must lie in [0, 1), got {visual_dropout}")
        self.visual_dropout = visual_dropout
        self.drop_visual = nn.Dropout(visual_dropout)
        self.fc_a = nn.Linear(audio_dim, d_model)
        self.fc_visual = nn.ModuleList(nn.Linear(d, d_model) for d in visual_dims)
        self.fc_fusion = nn.Linear(d_model * len(visual_dims), d_model) if len(visual_dims) > 1 else None
        n_modules = 1 if share_layer else 2
        self.layers = nn.ModuleList(
            nn.ModuleList(HybridAttentionLayer(d_model, nhead, dim_feedforward, dropout) for _ in range(n_modules))
            for _ in range(num_layers))
        self.fc_prob = nn.Linear(d_model, num_classes)
        self.fc_frame_att = nn.Linear(d_model, num_classes)
        self.fc_av_att = nn.Linear(d_model, num_classes)

    def fuse_visual(self, visual: list[Tensor]) -> Tensor:
        """One [B, T, Dv] tensor per visual kind (frames already segment-averaged) -> [B, T, d_model]."""
        v = [fc(x) for fc, x in zip(self.fc_visual, visual)]
        return self.fc_fusion(torch.cat(v, dim=-1)) if self.fc_fusion is not None else v[0]

    def forward(self, audio: Tensor, visual: list[Tensor]) -> HANOutput:
        """``audio`` [B, T, Da]; ``visual`` one [B, T, Dv] tensor per visual kind."""
        a, v = self.fc_a(audio), self.fuse_visual(visual)
        for layer in self.layers:
            layer_a, layer_v = layer[0], layer[-1]
            a, v = layer_a(a, v), layer_v(v, a)
        v = self.drop_visual(v)
        return attentive_mmil(torch.stack([a, v], dim=2), self.fc_prob, self.fc_frame_att, self.fc_av_att)
