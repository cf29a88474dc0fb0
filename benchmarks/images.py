"""The Fractal Flow against the RealNVP baseline on Fashion-MNIST, at a fixed CPU budget.

Prints one JSON line per model, each trained with the same steps, batch, width and depth
(``seisflow.train.train``) and validated on the same test images
(``seisflow.train.validate.validate``): the RealNVP baseline (``standard`` prior, fractal
level 0), then ``kat_gmm`` and ``lda`` at fractal levels 1 and 2. Each line holds test
bits/dim (for ``lda`` the importance-weighted bound), ARI, NMI and matched accuracy of the
clustering by topic, training patches/s, and the same-run baselines at the same number of
clusters: k-means on pixels and k-means on the baseline flow's latents.

Usage: python benchmarks/images.py --data-dir ../shared/data/images [--steps 300]
       [--batch 64] [--width 32] [--limit 2000] [--dataset fashion_mnist]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from seisflow.train import train
from seisflow.train.validate import validate

MODELS = [("standard", 0), ("kat_gmm", 1), ("lda", 1), ("kat_gmm", 2), ("lda", 2)]


def _round(value: object) -> object:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--limit", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as root:
        baseline = Path(root) / "standard_l0"
        for prior, levels in MODELS:
            name = f"{prior}_l{levels}"
            run = Path(root) / name
            settings = [f"model.prior={prior}", f"model.levels={levels}",
                        f"model.width={args.width}", "model.depth=4", "model.topics=10",
                        "model.alpha=0.3", f"train.steps={args.steps}",
                        f"train.batch_size={args.batch}", "train.lr=2e-3", "train.warmup=30",
                        "train.eval_every=0", "train.checkpoint_every=0"]  # fmt: skip
            result = train(args.dataset, run, data_dir=args.data_dir, overrides=settings,
                           progress=False)  # fmt: skip
            report = validate(run, args.dataset, data_dir=args.data_dir, limit=args.limit,
                              baseline_run=baseline)  # fmt: skip
            line = {
                "benchmark": "images", "dataset": args.dataset, "model": name,
                "steps": args.steps, "batch": args.batch, "width": args.width, "depth": 4,
                "test_images": report["n"], "bits_per_dim": report["bits_per_dim"],
                "bits_per_dim_kind": report["bits_per_dim_kind"], "clusters": report["clusters"],
                "clusters_used": report["clusters_used"], "readout": report["readout"],
                "ari": report["ari"], "nmi": report["nmi"], "accuracy": report["accuracy"],
                "train_patches_per_s": result.patches_per_s,
                "train_bits_per_dim_last": result.metrics["bits_per_dim"],
                "baselines": report["baselines"],
            }  # fmt: skip
            print(json.dumps(_round(line)), flush=True)


if __name__ == "__main__":
    main()
