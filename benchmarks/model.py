"""Fractal Flow training cost: forward + backward patches/s and peak memory on CPU.

Prints one JSON line. 32 x 32 one-channel patches, batch 64, the same width (32) and depth
(4 couplings per stack) for every model, each run in its own process (so each peak RSS is
its own):

* the RealNVP baseline: standard prior, fractal level 0;
* KAT-GMM and LDA priors at fractal levels 1 and 2;
* when installed (``pip install normflows``), a normflows Glow with as many parameters as the
  baseline, in the same run: squeeze, then 12 GlowBlocks (actnorm, 1x1 conv, affine
  coupling) at 4 x 16 x 16, hidden channels chosen to match the parameter count.

Usage: python benchmarks/model.py [--steps 12] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, torch
torch.manual_seed(0)
torch.set_num_threads(2)
name, steps, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = torch.randint(0, 256, (batch, 1, 32, 32))
if name == "normflows_glow":
    import normflows as nf
    def glow(hidden):
        flows = [nf.flows.GlowBlock(4, hidden, split_mode="channel", scale=True)
                 for _ in range(12)]
        flows.append(nf.flows.Squeeze())
        return nf.NormalizingFlow(nf.distributions.DiagGaussian((4, 16, 16)), flows)
    target = int(sys.argv[4])  # the baseline's parameter count: compare at equal size
    sizes = {h: sum(p.numel() for p in glow(h).parameters()) for h in range(32, 321, 8)}
    model = glow(min(sizes, key=lambda h: abs(sizes[h] - target)))
    def loss_fn():
        return model.forward_kld((x.float() + torch.rand(x.shape)) / 256)
else:
    from seisflow.models import FlowConfig, build_flow
    prior, levels = name.split("_l")
    model = build_flow(FlowConfig(in_shape=(1, 32, 32), prior=prior, levels=int(levels),
                                  width=32, depth=4, subnet="cnn"))
    def loss_fn():
        return model.loss(x)[0]
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
for step in range(steps + 1):
    if step == 1:
        start = time.perf_counter()
    loss = loss_fn()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
seconds = time.perf_counter() - start
print(json.dumps({"patches_per_s": steps * batch / seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "parameters": sum(p.numel() for p in model.parameters())}))
"""

MODELS = ["standard_l0", "kat_gmm_l1", "lda_l1", "kat_gmm_l2", "lda_l2", "normflows_glow"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    figures: dict[str, object] = {"benchmark": "model", "patch": 32, "batch": args.batch,
                                  "width": 32, "depth": 4}  # fmt: skip
    for name in MODELS:
        size = str(figures.get("standard_l0_parameters", 0))
        out = subprocess.run([sys.executable, "-c", CHILD, name, str(args.steps), str(args.batch),
                              size], capture_output=True, text=True)  # fmt: skip
        if out.returncode != 0:
            figures[f"{name}_skipped"] = out.stderr.strip().splitlines()[-1][:120]
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        figures[f"{name}_patches_per_s"] = round(result["patches_per_s"], 1)
        figures[f"{name}_peak_rss_mb"] = round(result["peak_rss_mb"], 1)
        figures[f"{name}_parameters"] = result["parameters"]
    base = figures.get("standard_l0_patches_per_s")
    for name in MODELS[1:]:
        rate = figures.get(f"{name}_patches_per_s")
        if base and rate:
            figures[f"{name}_cost_vs_realnvp"] = round(base / rate, 2)
    glow = figures.get("normflows_glow_patches_per_s")
    if glow:
        for name in MODELS[:-1]:
            figures[f"{name}_speed_vs_normflows"] = round(
                figures[f"{name}_patches_per_s"] / glow, 2
            )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
