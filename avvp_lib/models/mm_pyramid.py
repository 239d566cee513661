"""MM-Pyramid: the multimodal pyramid attentional network of Yu et al. (ACM MM 2022), ``AVVPNet`` upstream.

Follows JustinYuu/MM_Pyramid ``main_network.py``, ``nets/MPAM.py`` and ``nets/Transformer.py``,
defaults from ``main_avvp.py``: width 512, 8 heads, FFN 512, 4 pyramid levels, kernel 3,
dropout 0.2 (residual and FFN), attention dropout 0.1.

- Attentive feature pyramid: level i (dilation 2^i) is a fixed-size attention block (self-attention
  per modality and one cross-modal attention shared by both directions, every query limited to
  keys within 2^i segments, the two results mixed by sigmoid gates) followed by a dilated temporal
  convolution block per modality. The levels are stacked.
- Adaptive semantic fusion, per modality and segment: self-attention across the levels, then a
  sigmoid-scored weighted sum of the levels.
- HAN's attentive MMIL pooling on the fused features.

Departures (documented):
- Upstream stacks the outputs as [visual, audio] while its trainer and evaluation read index 0 as
  audio, so the stream fed the visual features predicts the audio events. ``swapped_streams=True``
  (default) keeps that; ``False`` gives the reading the paper describes (audio stream -> audio).
- Upstream registers modules it never calls (a LayerNorm in every attention, one attention and one
  FFN in each of its two pyramid modules); they are left out, so this model has fewer parameters.
- Initialisation: upstream deep-copies one module per ``clones`` / ``copy.deepcopy`` call, so its
  attention projections, its pyramid's feed-forward blocks and the audio and visual fusion modules
  start as copies of each other; here every layer is initialised on its own (PyTorch's defaults,
  ``nn.MultiheadAttention``'s xavier-uniform projections). Same architecture, other initial weights.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from avvp_lib.models.han import HANOutput, VisualProjection, attentive_mmil
from avvp_lib.vocabulary import NUM_CLASSES


class AttentionLayer(nn.Module):
    """Pre-norm layer that normalises the query only: q + Drop(MHA(LN q, kv, kv)), then q + Drop(FFN(LN q)).

    ``window`` w: each query segment attends to keys at most w segments away (None: all keys).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, attn_dropout: float,
                 window: int | None = None):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, nhead, dropout=attn_dropout, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(d_model, dim_feedforward), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(dim_feedforward, d_model))
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.window = window

    def forward(self, q: Tensor, kv: Tensor) -> Tensor:
        mask = None
        if self.window is not None:  # True = not attended
            t = torch.arange(q.shape[1], device=q.device)
            mask = (t[:, None] - t[None, :]).abs() > self.window
        q = q + self.drop1(self.attn(self.norm1(q), kv, kv, attn_mask=mask, need_weights=False)[0])
        return q + self.drop2(self.ffn(self.norm2(q)))


class PyramidAttention(nn.Module):
    """Fixed-size attention block of one pyramid level (upstream ``IntegrateAttentionBlock``).

    v' = g1 * SA_v(v) + g2 * CA(v, a), with gates g = sigmoid(Linear([SA_v(v), CA(v, a)])); same for a.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, attn_dropout: float,
                 window: int):
        super().__init__()
        layer = lambda: AttentionLayer(d_model, nhead, dim_feedforward, dropout, attn_dropout, window)  # noqa: E731
        self.self_v, self.self_a, self.cross = layer(), layer(), layer()
        self.gate_v, self.gate_a = nn.Linear(2 * d_model, 2 * d_model), nn.Linear(2 * d_model, 2 * d_model)

    @staticmethod
    def _mix(gate: nn.Linear, own: Tensor, cross: Tensor) -> Tensor:
        g_own, g_cross = torch.sigmoid(gate(torch.cat([own, cross], dim=-1))).chunk(2, dim=-1)
        return g_own * own + g_cross * cross

    def forward(self, v: Tensor, a: Tensor) -> tuple[Tensor, Tensor]:
        v_sa, a_sa = self.self_v(v, v), self.self_a(a, a)
        v_ca, a_ca = self.cross(v, a), self.cross(a, v)
        return self._mix(self.gate_v, v_sa, v_ca), self._mix(self.gate_a, a_sa, a_ca)


class DilatedConvBlock(nn.Module):
    """ReLU(x + Conv1x1(ReLU(DilatedConv(x)))) over time (upstream ``TemporalBlock``); [B, T, D] -> [B, T, D]."""

    def __init__(self, d_model: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv1d(d_model, d_model, kernel_size, padding=dilation * (kernel_size - 1) // 2,
                               dilation=dilation)
        self.conv2 = nn.Conv1d(d_model, d_model, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = x.transpose(1, 2)
        return F.relu(h + self.conv2(F.relu(self.conv1(h)))).transpose(1, 2)


class LevelFusion(nn.Module):
    """Adaptive semantic fusion of one modality.

    Self-attention across each segment's pyramid levels, then sum_l sigmoid(score(x_l)) x_l.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, attn_dropout: float):
        super().__init__()
        self.attn = AttentionLayer(d_model, nhead, dim_feedforward, dropout, attn_dropout)
        self.score = nn.Linear(d_model, 1)

    def forward(self, levels: Tensor) -> Tensor:
        """``levels`` [B, T, L, D] -> [B, T, D]."""
        b, t, n, d = levels.shape
        x = levels.reshape(b * t, n, d)
        x = self.attn(x, x)
        return (torch.sigmoid(self.score(x)) * x).sum(dim=1).reshape(b, t, d)


class MMPyramid(nn.Module):
    """MM-Pyramid with inputs sized by the chosen feature kinds."""

    def __init__(self, audio_dim: int = 128, visual_dims: tuple[int, ...] = (2048, 512), d_model: int = 512,
                 nhead: int = 8, dim_feedforward: int = 512, num_levels: int = 4, kernel_size: int = 3,
                 dropout: float = 0.2, attn_dropout: float = 0.1, swapped_streams: bool = True,
                 num_classes: int = NUM_CLASSES):
        super().__init__()
        self.swapped_streams = swapped_streams
        self.fc_a = nn.Linear(audio_dim, d_model)
        self.visual_proj = VisualProjection(visual_dims, d_model)
        args = (d_model, nhead, dim_feedforward, dropout, attn_dropout)
        self.attention = nn.ModuleList(PyramidAttention(*args, window=2 ** i) for i in range(num_levels))
        self.conv_v = nn.ModuleList(DilatedConvBlock(d_model, kernel_size, 2 ** i) for i in range(num_levels))
        self.conv_a = nn.ModuleList(DilatedConvBlock(d_model, kernel_size, 2 ** i) for i in range(num_levels))
        self.fusion_v, self.fusion_a = LevelFusion(*args), LevelFusion(*args)
        self.fc_prob = nn.Linear(d_model, num_classes)
        self.fc_frame_att = nn.Linear(d_model, num_classes)
        self.fc_av_att = nn.Linear(d_model, num_classes)

    def forward(self, audio: Tensor, visual: list[Tensor]) -> HANOutput:
        """``audio`` [B, T, Da]; ``visual`` one [B, T, Dv] tensor per visual kind."""
        a, v = self.fc_a(audio), self.visual_proj(visual)
        levels_v, levels_a = [], []
        for attention, conv_v, conv_a in zip(self.attention, self.conv_v, self.conv_a):
            v, a = attention(v, a)
            v, a = conv_v(v), conv_a(a)
            levels_v.append(v)
            levels_a.append(a)
        v, a = self.fusion_v(torch.stack(levels_v, dim=2)), self.fusion_a(torch.stack(levels_a, dim=2))
        x = torch.stack([v, a] if self.swapped_streams else [a, v], dim=2)
        return attentive_mmil(x, self.fc_prob, self.fc_frame_att, self.fc_av_att)
