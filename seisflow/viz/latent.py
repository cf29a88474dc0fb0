"""The latent space and the topics: a PCA scatter coloured by topic, sample mosaics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D

from seisflow.viz.seismic import category_colours

__all__ = ["image_rows", "latent_scatter", "pca_2d", "topic_samples"]


def pca_2d(latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of ``latents`` ``(N, D)`` (numpy SVD).

    Returns:
        The ``(N, 2)`` projection and the fraction of the variance each component explains.
    """
    data = np.asarray(latents, dtype=np.float64).reshape(len(latents), -1)
    centred = data - data.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:2]
    projection = centred @ components.T
    if projection.shape[1] < 2:  # one-dimensional latents: a flat second axis
        projection = np.column_stack([projection, np.zeros(len(projection))])
    variance = singular**2
    explained = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return projection, np.pad(explained, (0, 2 - explained.size))


def latent_scatter(
    ax: Axes,
    latents: np.ndarray,
    topics: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
    max_points: int = 5000,
    seed: int = 0,
    size: float = 6.0,
    title: str | None = None,
) -> PathCollection:
    """Scatter the latents' first two principal components, coloured by topic.

    Args:
        ax: Axes to draw into.
        latents: ``(N, D)`` latent vectors (anything ``(N, ...)`` is flattened).
        topics: ``(N,)`` topic of each (the arg-max topic), ``0..K-1``.
        names: Name of each topic (default ``topic_k``); the legend lists those present.
        colours: Colour of each topic (default the category colours of the facies maps).
        max_points: At most this many points, drawn at random (``seed``) so big sets stay
            legible and fast; the PCA uses every point.
        seed: Seed of the subsample.
        size: Marker size.
        title: Optional title.

    Returns:
        The scatter.

    Raises:
        ValueError: When ``latents`` and ``topics`` differ in length.
    """
    topics = np.asarray(topics).astype(int).ravel()
    if len(latents) != topics.size:
        raise ValueError(f"{len(latents)} latents but {topics.size} topics: give one per latent")
    projection, explained = pca_2d(latents)
    k = max(int(topics.max()) + 1 if topics.size else 1, len(names) if names else 0)
    names = list(names) if names else [f"topic_{t}" for t in range(k)]
    palette = category_colours(k, colours)
    shown = np.arange(topics.size)
    if topics.size > max_points:
        shown = np.sort(np.random.default_rng(seed).choice(topics.size, max_points, replace=False))
    points = ax.scatter(projection[shown, 0], projection[shown, 1], c=topics[shown],
                        cmap=ListedColormap(palette), norm=BoundaryNorm(np.arange(-0.5, k), k),
                        s=size, alpha=0.7, linewidths=0)  # fmt: skip
    handles = [
        Line2D([], [], marker="o", linestyle="", color=palette[t], label=names[t])
        for t in np.unique(topics)
        if 0 <= t < k
    ]
    ax.legend(handles=handles, title="topic", fontsize="small", markerscale=1.5)
    ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f}% of variance)")
    if title:
        ax.set_title(title)
    return points


def topic_samples(
    ax: Axes,
    flow: Any,
    *,
    topics: Sequence[int] | None = None,
    n: int = 8,
    names: Sequence[str] | None = None,
    cmap: str = "Greys",
    title: str | None = None,
) -> AxesImage:
    """One row of ``n`` samples per topic, drawn by ``flow.sample(n, topic=t)``.

    Args:
        ax: Axes to draw into.
        flow: A trained :class:`~seisflow.models.FractalFlow` with an LDA (or KAT-GMM)
            prior, or anything whose ``sample(n, topic=t)`` returns ``(n, C, H, W)`` in
            [0, 1] (a tensor or an array).
        topics: Topics to draw (default every topic of ``flow.config.topics``).
        n: Samples per topic.
        names: Row labels (default ``topic_k``).
        cmap: ``Greys`` draws seismic patches as the sections are drawn (zero amplitude,
            0.5, mid grey; peaks black, time downwards); ``gray`` for image benchmarks.
        title: Optional title.

    Returns:
        The mosaic image.
    """
    if topics is None:
        topics = range(int(flow.config.topics))
    topics = list(topics)
    rows = [_numpy(flow.sample(n, topic=t)) for t in topics]
    labels = list(names) if names else [f"topic_{t}" for t in topics]
    return image_rows(ax, rows, labels=labels, columns=n, cmap=cmap, title=title)


def _numpy(samples: Any) -> np.ndarray:
    """A tensor (any device) or array as a float32 numpy array."""
    if hasattr(samples, "detach"):
        samples = samples.detach().float().cpu().numpy()
    return np.asarray(samples, dtype=np.float32)


def image_rows(
    ax: Axes,
    rows: Sequence[np.ndarray],
    *,
    labels: Sequence[str],
    columns: int = 10,
    cmap: str = "gray",
    title: str | None = None,
) -> AxesImage:
    """Rows of small images as one mosaic with a label per row (topic samples, clusters).

    Args:
        ax: Where to draw.
        rows: One array per row, ``(n, C, H, W)`` with ``C`` 1 or 3, values 0..1 (float) or
            0..255 (uint8); at most ``columns`` are drawn, a short row is left blank.
        labels: One label per row.
        columns: Images per row.
        cmap: Colour map of one-channel images (``gray``: 0 black; ``Greys``: 1 black, as
            seismic sections are drawn). The gaps between images are left blank.
        title: Optional title.
    """
    c, h, w = next(r.shape[1:] for r in rows if r.size) if any(r.size for r in rows) else (1, 2, 2)
    gap = np.nan if c == 1 else 1.0  # blank (transparent) or white
    mosaic = np.full(((h + 1) * len(rows) + 1, (w + 1) * columns + 1, c), gap, dtype=np.float32)
    for i, row in enumerate(rows):
        images = row[:columns].astype(np.float32) / (255.0 if row.dtype == np.uint8 else 1.0)
        for j, image in enumerate(images):
            top, left = 1 + i * (h + 1), 1 + j * (w + 1)
            mosaic[top : top + h, left : left + w] = image.transpose(1, 2, 0)
    shown = ax.imshow(mosaic[..., 0] if c == 1 else mosaic.clip(0, 1), cmap=cmap,
                      vmin=0.0, vmax=1.0, interpolation="nearest")  # fmt: skip
    ax.set_yticks([1 + i * (h + 1) + h / 2 for i in range(len(rows))], labels=list(labels))
    ax.set_xticks([])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    return shown
