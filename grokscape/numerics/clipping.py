"""Gradient clipping for stacked models: every leading index of the weights is a model of its own
(a seed of a training group, a curve of a fitting batch), clipped as if it were alone."""

from __future__ import annotations

import torch


def clip_each_model(params: list[torch.Tensor], max_norm: float) -> None:
    """`torch.nn.utils.clip_grad_norm_` for each stacked model (leading index) on its own."""
    grads = [p.grad for p in params]
    norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads], dim=1)
    scale = (max_norm / (torch.linalg.vector_norm(norms, dim=1) + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *[1] * (g.dim() - 1)))
