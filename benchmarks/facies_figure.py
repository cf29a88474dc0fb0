"""The README's facies figure: one inline of an untuned survey, facies over the seismic,
beside the truth.

Panels: the true units, the interpreter's baseline (k-means on smoothed standard
attributes), and seisflow's read-outs named with ``--readouts`` (rows of
``benchmarks/facies_readouts.py``), each drawn over the seismic with its clusters renamed
to the units they match one-to-one (:func:`seisflow.scores.matched_labels`), so a colour
means the same unit in every panel; white is a facies matched to no unit. Runs come from
``facies_readouts.py`` (``--root``); the ARI of each panel is on the whole survey.

Usage: python benchmarks/facies_figure.py --root DIR --survey 1 --seed 0
       [--readouts cluster,lda_flow] --out docs/facies-section.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from facies import SURVEYS, _survey
from facies_readouts import ROWS, RUNS, Rows
from matplotlib.colors import ListedColormap

from seisflow.infer.attribute_facies import SMOOTH, attribute_facies
from seisflow.infer.evaluate import live_sample, open_truth
from seisflow.infer.palette import cycled_colours
from seisflow.ingest.store import open_survey
from seisflow.scores import cluster_scores, matched_labels
from seisflow.viz.seismic import section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--survey", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--readouts", default="cluster,lda_flow")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    store, truth = _survey(args.root, args.survey)
    survey = open_survey(store)
    live = survey.trace_mask.values.astype(bool)
    units = np.where(live[..., None], open_truth(truth, survey).facies.values, -1)
    runs = {name: args.root / f"s{args.survey}-seed{args.seed}-{name}" for name in RUNS}
    rows = Rows(store, runs, args.seed, 4.0)
    panels = {"truth (units)": units}
    baseline = attribute_facies(survey, k=rows.k, seed=args.seed, smooth=SMOOTH)
    panels["k-means on smoothed attributes"] = np.asarray(baseline.compute())
    for name in args.readouts.split(","):
        method, options = ROWS[name]
        panels[f"seisflow `{name}`"] = np.asarray(getattr(rows, method)(**options).compute())
    pick = live_sample(survey, 400_000, seed=0)
    inline = units.shape[0] // 2
    amplitude = survey.amplitude.values[inline]
    amplitude = np.where(live[inline, :, None], amplitude, np.nan)
    n_units = int(units.max()) + 1
    colours = ListedColormap([*cycled_colours(n_units), "white"])
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 4.2), sharey=True)
    for ax, (title, labels) in zip(axes, panels.items(), strict=True):
        score = "" if labels is units else \
            f"\nARI {cluster_scores(units[pick], labels[pick])['ari']:.2f}"  # fmt: skip
        shown = matched_labels(units, labels)[inline].astype(float)
        shown[shown >= n_units] = n_units  # unmatched: white
        shown[shown < 0] = np.nan
        image = section(ax, amplitude, traces=survey.crossline.values,
                        times_ms=survey.time.values, title=title + score)  # fmt: skip
        ax.imshow(shown.T, cmap=colours, vmin=-0.5, vmax=n_units + 0.5, alpha=0.45,
                  aspect="auto", interpolation="nearest", extent=image.get_extent())  # fmt: skip
    shape = "x".join(str(n) for n in SURVEYS[args.survey]["shape"])
    fig.suptitle(f"untuned survey {args.survey} ({shape}), inline index {inline}, "
                 f"training seed {args.seed}")  # fmt: skip
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(args.out)


if __name__ == "__main__":
    main()
