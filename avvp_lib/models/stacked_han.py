"""R independent HANs as one model: every parameter has a leading run dimension ``[R, ...]``.

Layers are written out with that dimension (``torch.baddbmm``, attention and LayerNorm by hand)
rather than ``vmap`` over ``nn.MultiheadAttention``, which was slower on CPU
(``shared/notes/performance.md``). Run ``r`` computes what ``HAN`` computes with run ``r``'s
weights (``StackedHAN(models)`` and ``run_state_dict`` use HAN's key names, so a run's weights load
into the ordinary ``HAN``). Dropout draws from one ``torch.Generator`` per run, so a run's masks do
not depend on which other runs share its stack.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from avvp_lib.models.han import HAN, HANOutput


def _key(name: str) -> str:
    return name.replace(".", "/")  # ParameterDict keys may not contain dots


def _stored(weight: Tensor) -> Tensor:
    """HAN's layout <-> the stored one: a linear weight (2-D) is transposed, everything else kept."""
    return weight.T.contiguous() if weight.dim() == 2 else weight


def stacked_linear(x: Tensor, weight_t: Tensor, bias: Tensor) -> Tensor:
    """Per-run ``x @ W^T + b``: ``x`` [R, ..., in], ``weight_t`` = W^T [R, in, out], ``bias`` [R, out]."""
    runs, in_dim, out_dim = weight_t.shape
    y = torch.baddbmm(bias.unsqueeze(1), x.reshape(runs, -1, in_dim), weight_t)
    return y.reshape(*x.shape[:-1], out_dim)


def stacked_layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """LayerNorm over the last dimension with a per-run affine: ``x`` [R, ..., D], ``weight`` [R, D]."""
    shape = (weight.shape[0],) + (1,) * (x.dim() - 2) + (weight.shape[1],)
    return torch.addcmul(bias.view(shape), F.layer_norm(x, x.shape[-1:], eps=eps), weight.view(shape))


class DropoutNoise:
    """Every dropout mask of one training forward pass, drawn up front: row ``r`` from run ``r``'s generator.

    Masks are pre-scaled (0 or ``1 / (1 - p)``, as ``nn.Dropout``) and handed out in a fixed order,
    so the masks of a run depend only on its generator and the batch shape.
    """

    def __init__(self, generators: list[torch.Generator], numel: int, p: float, device: torch.device):
        u = torch.empty(len(generators), numel, device=device)
        for row, g in zip(u, generators):
            row.uniform_(generator=g)
        self.masks, self.offset = (u >= p).to(u.dtype).mul_(1 / (1 - p)), 0

    def take(self, *shape: int) -> Tensor:
        """The next mask, [R, *shape]."""
        n = math.prod(shape)
        out = self.masks[:, self.offset:self.offset + n].view(-1, *shape)
        self.offset += n
        return out


class StackedHAN(nn.Module):
    """R HANs of one architecture; parameters ``[R, *HAN shape]`` keyed by HAN's names.

    Linear weights are stored transposed, ``[R, in, out]``, so that their gradients come out of
    ``baddbmm`` contiguous (``run_state_dict`` returns HAN's ``[out, in]``).
    """

    def __init__(self, models: list[HAN]):
        super().__init__()
        first = models[0]
        self.names = list(first.state_dict())
        for m in models[1:]:
            if [(k, v.shape) for k, v in m.state_dict().items()] != [(k, v.shape) for k, v in first.state_dict().items()]:
                raise ValueError("StackedHAN needs HANs of one architecture")
        attn = first.layers[0][0].self_attn
        self.num_runs, self.num_visual = len(models), len(first.fc_visual)
        self.num_layers, self.modules_per_layer = len(first.layers), len(first.layers[0])
        self.nhead, self.dropout, self.visual_dropout = attn.num_heads, attn.dropout, first.visual_dropout
        self.d_model, self.dim_feedforward = attn.embed_dim, first.layers[0][0].linear1.out_features
        states = [m.state_dict() for m in models]
        self.params = nn.ParameterDict({_key(n): nn.Parameter(torch.stack([_stored(s[n].detach()) for s in states]))
                                        for n in self.names})

    def p(self, name: str) -> Tensor:
        return self.params[_key(name)]

    def auxiliary_loss(self, video_label: Tensor) -> None:
        """HAN has no training terms besides its targets' loss (``train.SingleRunStack`` has the other backbones')."""
        return None

    def run_state_dict(self, run: int) -> dict[str, Tensor]:
        """Run ``run``'s weights as an ordinary ``HAN`` state_dict."""
        return {n: _stored(self.p(n)[run].detach()).clone() for n in self.names}

    def load_run_state_dict(self, run: int, state: dict[str, Tensor]) -> None:
        with torch.no_grad():
            for n in self.names:
                self.p(n)[run].copy_(_stored(state[n]))

    def dropout_numel(self, batch: int, steps: int) -> int:
        """Dropout draws of one forward pass: per layer and modality, two attention maps and four activations."""
        per_layer = batch * steps * (2 * self.nhead * steps + 3 * self.d_model + self.dim_feedforward)
        return 2 * self.num_layers * per_layer

    def _linear(self, x: Tensor, name: str) -> Tensor:
        return stacked_linear(x, self.p(f"{name}.weight"), self.p(f"{name}.bias"))

    def _attention(self, x: Tensor, other: Tensor, name: str, noise: DropoutNoise | None) -> Tensor:
        """``nn.MultiheadAttention(x, other, other)`` per run: [R, B, T, D]."""
        runs, b, t, d = x.shape
        w, bias = self.p(f"{name}.in_proj_weight"), self.p(f"{name}.in_proj_bias")
        if x is other:
            q, k, v = stacked_linear(x, w, bias).chunk(3, dim=-1)
        else:
            q = stacked_linear(x, w[:, :, :d], bias[:, :d])
            k, v = stacked_linear(other, w[:, :, d:], bias[:, d:]).chunk(2, dim=-1)
        h, dh = self.nhead, d // self.nhead
        heads = lambda z: z.reshape(runs, b, -1, h, dh).transpose(2, 3).reshape(runs * b * h, -1, dh)  # noqa: E731
        q, k, v = heads(q), heads(k), heads(v)
        att = torch.softmax(torch.bmm(q * (1 / math.sqrt(dh)), k.transpose(1, 2)), dim=-1)
        if noise is not None:
            att = (att.view(runs, b * h, t, -1) * noise.take(b * h, t, k.shape[1])).view_as(att)
        out = torch.bmm(att, v).view(runs, b, h, t, dh).transpose(2, 3).reshape(runs, b, t, d)
        return self._linear(out, f"{name}.out_proj")

    def _hybrid_layer(self, x: Tensor, other: Tensor, name: str, noise: DropoutNoise | None) -> Tensor:
        """``HybridAttentionLayer`` per run (HAN eq. 1)."""
        drop = (lambda z: z) if noise is None else (lambda z: z * noise.take(*z.shape[1:]))  # noqa: E731
        cross = self._attention(x, other, f"{name}.cm_attn", noise)
        own = self._attention(x, x, f"{name}.self_attn", noise)
        x = stacked_layer_norm(x + drop(cross) + drop(own), self.p(f"{name}.norm1.weight"), self.p(f"{name}.norm1.bias"))
        ffn = self._linear(drop(F.relu(self._linear(x, f"{name}.linear1"))), f"{name}.linear2")
        return stacked_layer_norm(x + drop(ffn), self.p(f"{name}.norm2.weight"), self.p(f"{name}.norm2.bias"))

    def forward(self, audio: Tensor, visual: list[Tensor], shared: bool = False,
                generators: list[torch.Generator] | None = None) -> HANOutput:
        """``audio`` [R, B, T, Da] and ``visual`` [R, B, T, Dv] per kind, or without R when ``shared``.

        Returns a ``HANOutput`` whose fields have a leading run dimension. In training mode with
        dropout, ``generators`` (one per run) supply the masks.
        """
        noise = visual_noise = None
        if self.training and (self.dropout > 0 or self.visual_dropout > 0):
            if generators is None or len(generators) != self.num_runs:
                raise ValueError(f"training StackedHAN needs one torch.Generator per run ({self.num_runs})")
            b, t = audio.shape[-3:-1]
            if self.dropout > 0:
                noise = DropoutNoise(generators, self.dropout_numel(b, t), self.dropout, audio.device)
            if self.visual_dropout > 0:  # HAN.drop_visual, drawn after the layers' masks
                visual_noise = DropoutNoise(generators, b * t * self.d_model, self.visual_dropout, audio.device)
        if shared:  # a stride-0 run dimension: no copy
            audio, visual = audio.expand(self.num_runs, *audio.shape), [x.expand(self.num_runs, *x.shape) for x in visual]
        a = self._linear(audio, "fc_a")
        v = [self._linear(x, f"fc_visual.{i}") for i, x in enumerate(visual)]
        v = self._linear(torch.cat(v, dim=-1), "fc_fusion") if self.num_visual > 1 else v[0]
        for i in range(self.num_layers):
            name_a, name_v = f"layers.{i}.0", f"layers.{i}.{self.modules_per_layer - 1}"
            a, v = self._hybrid_layer(a, v, name_a, noise), self._hybrid_layer(v, a, name_v, noise)
        if visual_noise is not None:
            v = v * visual_noise.take(*v.shape[1:])
        x = torch.stack([a, v], dim=3)  # [R, B, T, 2, D]
        frame_prob = torch.sigmoid(self._linear(x, "fc_prob"))
        frame_att = torch.softmax(self._linear(x, "fc_frame_att"), dim=2)  # over time
        av_att = torch.softmax(self._linear(x, "fc_av_att"), dim=3)  # over modality
        temporal = frame_att * frame_prob
        return HANOutput(global_prob=(temporal * av_att).sum(dim=(2, 3)), audio_prob=temporal[:, :, :, 0].sum(2),
                         visual_prob=temporal[:, :, :, 1].sum(2), frame_prob=frame_prob)
