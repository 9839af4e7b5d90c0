"""Write ``torch_reference.json``: PyTorch optimizer trajectories for the tests.

Run from the repository root with an environment that has PyTorch::

    python tests/data/make_torch_reference.py

Every case runs one ``torch.optim`` optimizer in float64 on the same two
parameter arrays (shapes (3,) and (2, 2)) and the same gradient sequence, and
records the parameters after each step. ``tests/optimizers/test_optimizers.py`` checks
that the matching skgd optimizer reproduces every step. The gradients mix
scales from 1e-4 to 10, and their magnitude changes from step to step, so that
epsilon placement, bias correction and AMSGrad's running maximum all matter.
"""

import json
from pathlib import Path

import numpy as np
import torch

N_STEPS = 10
SEED = 0
OUT = Path(__file__).with_name("torch_reference.json")

# (skgd optimizer: a registered name or {"class", "params"}, torch class name,
#  torch keyword arguments, learning rate). String cases use torch's defaults,
#  so they also check that skgd's defaults agree with torch's.
CASES = [
    ("sgd", "SGD", {}, 0.05),
    ("momentum", "SGD", {"momentum": 0.9}, 0.05),
    ("nesterov", "SGD", {"momentum": 0.9, "nesterov": True}, 0.05),
    (
        {"class": "SGD", "params": {"momentum": 0.5, "dampening": 0.3}},
        "SGD",
        {"momentum": 0.5, "dampening": 0.3},
        0.05,
    ),
    ("adagrad", "Adagrad", {}, 0.05),
    (
        {
            "class": "AdaGrad",
            "params": {"initial_accumulator_value": 0.1, "epsilon": 1e-3},
        },
        "Adagrad",
        {"initial_accumulator_value": 0.1, "eps": 1e-3},
        0.05,
    ),
    ("rmsprop", "RMSprop", {}, 0.01),
    (
        {"class": "RMSProp", "params": {"momentum": 0.9}},
        "RMSprop",
        {"momentum": 0.9},
        0.01,
    ),
    (
        {"class": "RMSProp", "params": {"centered": True}},
        "RMSprop",
        {"centered": True},
        0.01,
    ),
    (
        {
            "class": "RMSProp",
            "params": {"rho": 0.9, "epsilon": 1e-3, "momentum": 0.5, "centered": True},
        },
        "RMSprop",
        {"alpha": 0.9, "eps": 1e-3, "momentum": 0.5, "centered": True},
        0.01,
    ),
    ("adam", "Adam", {}, 0.05),
    ("amsgrad", "Adam", {"amsgrad": True}, 0.05),
    (
        {"class": "Adam", "params": {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}},
        "Adam",
        {"betas": (0.5, 0.9), "eps": 1e-3},
        0.05,
    ),
    (
        {"class": "Adam", "params": {"beta_2": 0.9, "epsilon": 1e-3, "amsgrad": True}},
        "Adam",
        {"betas": (0.9, 0.9), "eps": 1e-3, "amsgrad": True},
        0.05,
    ),
    ("adamw", "AdamW", {}, 0.05),
    (
        {
            "class": "AdamW",
            "params": {"weight_decay": 0.5, "epsilon": 1e-3, "amsgrad": True},
        },
        "AdamW",
        {"weight_decay": 0.5, "eps": 1e-3, "amsgrad": True},
        0.05,
    ),
    ("nadam", "NAdam", {}, 0.05),
    (
        {
            "class": "NAdam",
            "params": {"beta_1": 0.8, "momentum_decay": 0.1, "epsilon": 1e-3},
        },
        "NAdam",
        {"betas": (0.8, 0.999), "momentum_decay": 0.1, "eps": 1e-3},
        0.05,
    ),
    ("radam", "RAdam", {}, 0.05),
    (
        {"class": "RAdam", "params": {"beta_2": 0.9, "epsilon": 1e-3}},
        "RAdam",
        {"betas": (0.9, 0.9), "eps": 1e-3},
        0.05,
    ),
    ("adamax", "Adamax", {}, 0.05),
    (
        {"class": "Adamax", "params": {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-2}},
        "Adamax",
        {"betas": (0.5, 0.9), "eps": 1e-2},
        0.05,
    ),
    ("adadelta", "Adadelta", {}, 1.0),
    (
        {"class": "Adadelta", "params": {"rho": 0.5, "epsilon": 1e-3}},
        "Adadelta",
        {"rho": 0.5, "eps": 1e-3},
        1.0,
    ),
]


def make_problem(seed=SEED, n_steps=N_STEPS):
    """Return initial parameters and a gradient sequence (lists of arrays)."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=3), rng.normal(size=(2, 2))]
    coordinate_scale = [
        np.array([1.0, 1e-3, 10.0]),
        np.array([[1e-2, 1.0], [0.1, 1e-4]]),
    ]
    step_scale = rng.choice([0.05, 0.3, 1.0, 3.0], size=n_steps)
    grads = [
        [s * c * rng.normal(size=c.shape) for c in coordinate_scale] for s in step_scale
    ]
    grads[0][0][1] = 0.0  # a zero first gradient in one coordinate
    return params, grads


def torch_trajectory(torch_class, torch_kwargs, lr, params, grads):
    """Run a torch optimizer in float64; return the parameters after each step."""
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    optimizer = getattr(torch.optim, torch_class)(tensors, lr=lr, **torch_kwargs)
    trajectory = []
    for step_grads in grads:
        for tensor, grad in zip(tensors, step_grads, strict=True):
            tensor.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
        trajectory.append([t.detach().numpy().tolist() for t in tensors])
    return trajectory


def main():
    # Scalar optimizer state (e.g. NAdam's running product of momentum
    # coefficients) uses torch's default dtype: make it float64 too.
    torch.set_default_dtype(torch.float64)
    params, grads = make_problem()
    cases = []
    for optimizer, torch_class, torch_kwargs, lr in CASES:
        torch_spec = {"class": torch_class, "kwargs": torch_kwargs}
        cases.append(
            {
                "optimizer": optimizer,
                "torch": torch_spec,
                "lr": lr,
                "trajectory": torch_trajectory(
                    torch_class, torch_kwargs, lr, params, grads
                ),
            }
        )
    reference = {
        "torch_version": torch.__version__.split("+")[0],
        "params": [p.tolist() for p in params],
        "grads": [[g.tolist() for g in step] for step in grads],
        "cases": cases,
    }

    # One line per top-level entry and per case: small, and readable in a diff.
    cases = reference.pop("cases")
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in reference.items()]
    lines += [' "cases": [', ",\n".join(f"  {json.dumps(c)}" for c in cases), " ]"]
    OUT.write_text("{\n" + "\n".join(lines) + "\n}\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
