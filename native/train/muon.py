"""Muon for the hidden weight matrices: SGD momentum whose update is orthogonalized by a
Newton-Schulz iteration (Jordan et al. 2024), scaled to the RMS of an AdamW update (Liu et al.
2025, "Muon is scalable for LLM training"), so that one lr schedule serves it and the AdamW that
trains the rest (embedding and tied LM head, norms, qk biases). train.optimizer "muon" selects it
(native/train/EXPERIMENTS.md, the Muon probes)."""
import torch

# the quintic iteration's coefficients (Jordan et al.): fast growth of small singular values
NS_COEFFS = (3.4445, -4.7750, 2.0315)
# an update whose singular values are all ~1 has RMS 1/sqrt(max(rows, cols)); AdamW's is ~0.2
ADAMW_RMS = 0.2


def orthogonalize(g, steps=5):
    """The nearest semi-orthogonal matrix to g, approximately (singular values pushed near 1)."""
    x = g.bfloat16()  # as in Jordan et al.: the iteration is robust to bf16, and 4x faster here
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / (x.norm() + 1e-7)
    a, b, c = NS_COEFFS
    for _ in range(steps):
        s = x @ x.T
        x = a * x + (b * s + c * s @ s) @ x
    return x.T if tall else x


class Muon(torch.optim.Optimizer):
    """Each group's "splits": a fused matrix (qkv, gate+up) is orthogonalized per part along dim 0."""

    def __init__(self, params, lr, momentum=0.95, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, splits=1))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p].setdefault("momentum", torch.zeros_like(p))
                buf.mul_(group["momentum"]).add_(p.grad)
                g = p.grad.add(buf, alpha=group["momentum"])  # Nesterov
                u = torch.cat([orthogonalize(part).float() * (ADAMW_RMS * max(part.shape) ** 0.5)
                               for part in g.chunk(group["splits"], dim=0)])
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(u.to(p.dtype), alpha=-group["lr"])


class Optimizers:
    """Several optimizers stepped as one (the trainer's view: param_groups, zero_grad, step and a
    state dict)."""

    def __init__(self, *opts):
        self.opts = opts

    @property
    def param_groups(self):
        return [g for o in self.opts for g in o.param_groups]

    def zero_grad(self, set_to_none=True):
        for o in self.opts:
            o.zero_grad(set_to_none=set_to_none)

    def step(self):
        for o in self.opts:
            o.step()

    def state_dict(self):
        return {"optimizers": [o.state_dict() for o in self.opts]}

    def load_state_dict(self, state):
        for o, s in zip(self.opts, state["optimizers"]):
            o.load_state_dict(s)
