"""The timing loop shared by the PyTorch peers of bench/engine/models.ts (resnet18_torch.py,
mobilenetv2_torch.py, vit_torch.py): random images and labels, then training steps of forward,
cross-entropy, backward and SGD (lr 0.1, momentum 0.9, weight decay 5e-4), as the toolkit's side
runs them (bench/engine/trainStep.ts).

Arguments: --batch 64 --steps 5 --warmup 1 --threads 2 --size 32 [--seed 0].
Prints one JSON object: {"samples_per_s": ..., "step_ms": [...], "best_step_ms": ..., "torch": version,
"threads": n, "blas": the BLAS library loaded, "params": total, "param_sizes": [element count of each
parameter tensor, ascending]}; the rates are null with --steps 0.

The BLAS matters: PyTorch's convolutions run on its own oneDNN, but its matrix products (Linear,
bmm) on the system's libblas.so.3, which Debian's python3-torch takes from the alternatives system
— the unoptimised reference BLAS (libblas3) unless OpenBLAS or BLIS is installed.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def loaded_blas():
    """Path of the BLAS library mapped into this process (Linux), or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.rsplit("/", 1)[-1]}
    except OSError:
        return None
    return sorted(paths)[0] if paths else None


def main(build_model, num_classes=10):
    """Time training steps of `build_model()` (an nn.Module from images [B, 3, S, S] to logits)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = build_model().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, num_classes, (args.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    best = min(times) if times else None
    sizes = sorted(p.numel() for p in model.parameters())
    print(json.dumps({
        "samples_per_s": args.batch * 1000 / best if best else None,
        "step_ms": times,
        "best_step_ms": best,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": loaded_blas(),
        "params": sum(sizes),
        "param_sizes": sizes,
    }))
