"""Adam and StepLR with one learning rate per run, for parameters stacked over runs ``[R, ...]``.

``StackedAdam`` performs ``torch.optim.Adam``'s update (no weight decay, no AMSGrad) elementwise,
so R stacked runs with learning rates ``lr[r]`` follow R separate ``torch.optim.Adam`` optimisers.
``step_lr`` is the learning rate ``torch.optim.lr_scheduler.StepLR`` reaches after ``epoch`` steps.
"""
from __future__ import annotations

import torch
from torch import Tensor


def step_lr(lr: float, step_size: int, gamma: float, epoch: int) -> float:
    """StepLR's learning rate after ``epoch`` scheduler steps (multiplied by ``gamma`` every ``step_size``, as torch does)."""
    for e in range(1, epoch + 1):
        if e % step_size == 0:
            lr *= gamma
    return lr


class StackedAdam:
    """Adam on ``params``; ``stacked=True``: dimension 0 of every parameter is the run, with its own lr.

    ``stacked=False`` serves a single run (R = 1) on ordinary parameters. ``lr_scales`` (one per
    parameter, default 1) multiply the learning rate, as torch's parameter groups with ``lr * scale``.
    """

    def __init__(self, params: list[Tensor], stacked: bool = True, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, lr_scales: list[float] | None = None):
        self.params, self.stacked, self.betas, self.eps = list(params), stacked, betas, eps
        self.lr_scales = list(lr_scales) if lr_scales is not None else [1.0] * len(self.params)
        if len(self.lr_scales) != len(self.params):
            raise ValueError(f"lr_scales: {len(self.lr_scales)} for {len(self.params)} parameters")
        self.steps = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: Tensor) -> None:
        """One update; ``lr`` [R] float64 on the CPU (float64 so that ``lr / (1 - beta1^t)`` rounds once,
        to the float32 step size torch's Adam uses; on the CPU since some devices have no float64)."""
        beta1, beta2 = self.betas
        self.steps += 1
        bias_correction2_sqrt = (1 - beta2 ** self.steps) ** 0.5
        neg_steps = {s: (-(lr * s) / (1 - beta1 ** self.steps)).to(self.params[0].device, self.params[0].dtype)
                     for s in set(self.lr_scales)}
        for p, m, v, s in zip(self.params, self.exp_avg, self.exp_avg_sq, self.lr_scales):
            neg_step = neg_steps[s]
            if p.grad is None:  # unused in this step (e.g. a backbone's auxiliary-loss head): left alone, as torch's Adam
                continue
            m.lerp_(p.grad, 1 - beta1)
            v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
            denom = (v.sqrt() / bias_correction2_sqrt).add_(self.eps)
            scale = neg_step.view(-1, *(1,) * (p.dim() - 1)) if self.stacked else neg_step.view(())
            p.addcdiv_(m * scale, denom)  # rounds as torch's addcdiv_(m, denom, value=-step)

    def run_state(self, run: int) -> dict:
        pick = (lambda t: t[run]) if self.stacked else (lambda t: t)  # noqa: E731
        return {"steps": self.steps, "exp_avg": [pick(t).detach().clone() for t in self.exp_avg],
                "exp_avg_sq": [pick(t).detach().clone() for t in self.exp_avg_sq]}

    @torch.no_grad()
    def load_run_state(self, run: int, state: dict) -> None:
        """Restore one run's moments (the runs of a stack are always at the same step)."""
        self.steps = state["steps"]
        for mine, saved in ((self.exp_avg, state["exp_avg"]), (self.exp_avg_sq, state["exp_avg_sq"])):
            for t, s in zip(mine, saved):
                (t[run] if self.stacked else t).copy_(s)
