"""MGN: the multi-modal grouping network of Mo & Tian (NeurIPS 2022), ``MGN_Net`` upstream.

Follows stoneMo/MGN ``nets/mgn.py`` and ``nets/grouping.py`` (GroupViT-style blocks), defaults from
its ``main.py``/README: width 128, 8 heads, MLP ratio 4, stochastic depth 0.1, no dropout,
depths 3 (audio), 3 (visual), 6 (cross-modal), soft uni-modal and cross-modal assignment.

- Class-aware uni-modal grouping (CUG), per modality: 25 learnable class tokens (zeros at start)
  join the 10 segments in pre-norm transformer blocks; a grouping block then assigns the segments
  to the tokens (soft: softmax over groups). The audio segments are first regrouped against the
  10 visual segments by one more grouping block with hard (Gumbel, straight-through) assignment,
  upstream's ``use_han`` block.
- Modality-aware cross-modal grouping (MCG): the 25 audio and 25 visual groups pass transformer
  blocks together, then the visual groups group the audio groups.
- Class c's probability is sigmoid(linear(group c)): fused from the MCG groups, audio and visual
  from the CUG groups. A segment's probability is its modality's class probability times the
  modality's grouping map.

Departures (documented):
- Upstream's soft grouping map is 1 + a softmax over segments of the softmax over groups, in
  (1, 2), so its segment probabilities can exceed 1. They are clamped at 1 here: neither the 0.5
  threshold nor the clamped BCE sees a difference.
- Upstream trains with two more terms: cross-entropy of the shared classifier ``fc_cls`` on each
  class token (token c must predict class c). ``MGN.auxiliary_loss`` returns their sum; the
  trainer adds it (``train.SingleRunStack``); without it ``fc_cls`` never learns and no term ties
  token c to class c.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import stochastic_depth

from avvp_lib.models.han import HANOutput, VisualProjection
from avvp_lib.vocabulary import NUM_CLASSES

ASSIGNMENTS = ("soft", "hard")


@dataclass
class MGNOutput(HANOutput):
    token_logits: Tensor | None = None  # [2, C, C] fc_cls on the audio and visual class tokens


def hard_softmax(logits: Tensor, dim: int) -> Tensor:
    """One-hot argmax along ``dim`` with the softmax's gradient (straight-through)."""
    soft = logits.softmax(dim)
    hard = torch.zeros_like(soft).scatter_(dim, soft.argmax(dim, keepdim=True), 1.0)
    return hard - soft.detach() + soft


class MLP(nn.Sequential):
    """Linear, GELU, Linear."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int):
        super().__init__(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_out))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + DropPath(SelfAttn(LN x)), then x + DropPath(MLP(LN x))."""

    def __init__(self, dim: int, num_heads: int, drop_path: float, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.mlp = MLP(dim, int(dim * mlp_ratio), dim)
        self.drop_path = drop_path

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm1(x)
        x = x + stochastic_depth(self.attn(h, h, h, need_weights=False)[0], self.drop_path, "row", self.training)
        return x + stochastic_depth(self.mlp(self.norm2(x)), self.drop_path, "row", self.training)


class CrossAttentionBlock(nn.Module):
    """Post-norm cross-attention: LN(y + MLP(LN y)) with y = q + Attn(q, k)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.norm2, self.norm_post = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mlp = MLP(dim, int(dim * mlp_ratio), dim)

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        x = query + self.attn(query, key, key, need_weights=False)[0]
        return self.norm_post(x + self.mlp(self.norm2(x)))


class AssignAttention(nn.Module):
    """Assign inputs to groups: a softmax over the groups of scaled q(groups)·k(x) (one head).

    ``hard``: straight-through one-hot, with Gumbel noise while training. The groups gather
    ``v(x)`` weighted by the assignment divided by (its sum over the inputs + 1).
    """

    def __init__(self, dim: int, hard: bool):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj, self.proj = (nn.Linear(dim, dim) for _ in range(4))
        self.scale, self.hard = dim ** -0.5, hard

    def forward(self, groups: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """-> (grouped [B, G, D], assignment [B, G, T], upstream's soft map 1 + softmax_T(softmax_G))."""
        logits = self.q_proj(groups) @ self.k_proj(x).transpose(1, 2) * self.scale
        if self.hard:
            assign = F.gumbel_softmax(logits, hard=True, dim=1) if self.training else hard_softmax(logits, 1)
        else:
            assign = logits.softmax(dim=1)
        soft_map = 1 + logits.softmax(dim=1).softmax(dim=-1)
        grouped = self.proj(assign / (assign.sum(dim=-1, keepdim=True) + 1) @ self.v_proj(x))
        return grouped, assign, soft_map


class GroupingBlock(nn.Module):
    """Tokens mixed by an MLP across tokens, cross-attend to the inputs, then gather the inputs assigned to them."""

    def __init__(self, dim: int, num_tokens: int, num_heads: int, hard: bool):
        super().__init__()
        self.norm_tokens, self.norm_x = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mlp_tokens = MLP(num_tokens, int(0.5 * dim), num_tokens)
        self.norm_post_tokens = nn.LayerNorm(dim)
        self.pre_assign = CrossAttentionBlock(dim, num_heads)
        self.assign = AssignAttention(dim, hard)
        self.norm_grouped = nn.LayerNorm(dim)
        self.mlp_channels = MLP(dim, 4 * dim, dim)

    def forward(self, x: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        tokens, x = self.norm_tokens(tokens), self.norm_x(x)
        tokens = self.norm_post_tokens(self.mlp_tokens(tokens.transpose(1, 2)).transpose(1, 2))
        tokens = self.pre_assign(tokens, x)
        grouped, assign, soft_map = self.assign(tokens, x)
        grouped = grouped + tokens
        return grouped + self.mlp_channels(self.norm_grouped(grouped)), assign, soft_map


class ModalityGrouping(nn.Module):
    """Upstream ``ModalityTrans``: tokens and inputs share ``depth`` transformer blocks, then the
    tokens group the inputs.

    With ``guide_tokens`` the inputs are first regrouped against a guide sequence of that length
    (the audio CUG's visual guidance), with the opposite assignment type.
    """

    def __init__(self, dim: int, depth: int, num_heads: int, num_tokens: int, hard: bool, drop_path: float,
                 guide_tokens: int | None = None):
        super().__init__()
        self.blocks = nn.ModuleList(TransformerBlock(dim, num_heads, drop_path) for _ in range(depth))
        self.guide = GroupingBlock(dim, guide_tokens, num_heads, not hard) if guide_tokens else None
        self.grouping = GroupingBlock(dim, num_tokens, num_heads, hard)

    def forward(self, x: Tensor, tokens: Tensor, guide: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        n = x.shape[1]
        h = torch.cat([x, tokens.expand(x.shape[0], -1, -1)], dim=1)
        for block in self.blocks:
            h = block(h)
        x, tokens = h[:, :n], h[:, n:]
        if self.guide is not None:
            x = self.guide(x, guide)[0]
        return self.grouping(x, tokens)


class MGN(nn.Module):
    """MGN with inputs sized by the chosen feature kinds; one group token per class."""

    def __init__(self, audio_dim: int = 128, visual_dims: tuple[int, ...] = (2048, 512), dim: int = 128,
                 depth_audio: int = 3, depth_visual: int = 3, depth_cross: int = 6, num_heads: int = 8,
                 drop_path: float = 0.1, unimodal_assign: str = "soft", crossmodal_assign: str = "soft",
                 num_segments: int = 10, num_classes: int = NUM_CLASSES):
        super().__init__()
        for name, value in (("unimodal_assign", unimodal_assign), ("crossmodal_assign", crossmodal_assign)):
            if value not in ASSIGNMENTS:
                raise ValueError(f"MGN {name} must be one of {ASSIGNMENTS}, got {value!r}")
        self.unimodal_assign = unimodal_assign
        self.fc_a = nn.Linear(audio_dim, dim)
        self.visual_proj = VisualProjection(visual_dims, dim)
        self.audio_token = nn.Parameter(torch.zeros(num_classes, dim))
        self.visual_token = nn.Parameter(torch.zeros(num_classes, dim))
        hard_uni, hard_cross = unimodal_assign == "hard", crossmodal_assign == "hard"
        self.audio_cug = ModalityGrouping(dim, depth_audio, num_heads, num_classes, hard_uni, drop_path,
                                          guide_tokens=num_segments)
        self.visual_cug = ModalityGrouping(dim, depth_visual, num_heads, num_classes, hard_uni, drop_path)
        self.av_mcg = ModalityGrouping(dim, depth_cross, num_heads, num_classes, hard_cross, drop_path)
        self.fc_prob, self.fc_prob_a, self.fc_prob_v = (nn.Linear(dim, 1) for _ in range(3))
        self.fc_cls = nn.Linear(dim, num_classes)
        self.apply(_init_weights)

    def forward(self, audio: Tensor, visual: list[Tensor]) -> MGNOutput:
        """``audio`` [B, T, Da]; ``visual`` one [B, T, Dv] tensor per visual kind."""
        a0, v0 = self.fc_a(audio), self.visual_proj(visual)
        v_groups, v_assign, v_soft = self.visual_cug(v0, self.visual_token)
        a_groups, a_assign, a_soft = self.audio_cug(a0, self.audio_token, guide=v0)
        fused = self.av_mcg(a_groups, v_groups)[0]
        a_prob = torch.sigmoid(self.fc_prob_a(a_groups)).squeeze(-1)  # [B, C]
        v_prob = torch.sigmoid(self.fc_prob_v(v_groups)).squeeze(-1)
        a_map, v_map = (a_soft, v_soft) if self.unimodal_assign == "soft" else (a_assign, v_assign)  # [B, C, T]
        frame = torch.stack([a_prob[..., None] * a_map, v_prob[..., None] * v_map], dim=1)  # [B, 2, C, T]
        return MGNOutput(global_prob=torch.sigmoid(self.fc_prob(fused)).squeeze(-1), audio_prob=a_prob,
                         visual_prob=v_prob, frame_prob=frame.permute(0, 3, 1, 2).clamp(max=1.0),
                         token_logits=torch.stack([self.fc_cls(self.audio_token), self.fc_cls(self.visual_token)]))

    def auxiliary_loss(self, out: MGNOutput, video_label: Tensor | None = None) -> Tensor:
        """Upstream's class-aware terms: CE(fc_cls(audio token c), c) + CE(fc_cls(visual token c), c)."""
        classes = torch.arange(out.token_logits.shape[1], device=out.token_logits.device)
        return F.cross_entropy(out.token_logits[0], classes) + F.cross_entropy(out.token_logits[1], classes)


def _init_weights(m: nn.Module) -> None:
    """Upstream init: truncated normal (std 0.02) weights and zero biases for every linear map."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.MultiheadAttention):  # its q/k/v maps are one packed parameter
        nn.init.trunc_normal_(m.in_proj_weight, std=0.02)
        nn.init.zeros_(m.in_proj_bias)
