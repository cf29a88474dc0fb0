"""Shared fixtures: small synthetic surveys written once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cloud_servers import azure_server, gcs_server, s3_server  # noqa: F401 (fixtures)

from seisflow.synth import SynthResult, synthesize
from seisflow.synth.config import SynthConfig

SMALL = (24, 30, 96)


@pytest.fixture(scope="session")
def make_survey(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., SynthResult]:
    """Write (once) and return a small synthetic survey for the given SynthConfig fields."""
    cache: dict[tuple, SynthResult] = {}
    root = tmp_path_factory.mktemp("surveys")

    def make(**fields: object) -> SynthResult:
        fields.setdefault("shape", SMALL)
        key = tuple(sorted(fields.items()))
        if key not in cache:
            name = "_".join(f"{k}-{v}" for k, v in key).replace(" ", "").replace(",", "x")
            name = name.replace("(", "").replace(")", "")
            cache[key] = synthesize(Path(root) / f"{name}.sgy", SynthConfig(**fields))
        return cache[key]

    return make


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _shared(folder: str, what: str) -> Path:
    """A folder of ../shared/data, or a skip naming what is missing."""
    path = SHARED_DATA / folder
    if not path.is_dir():
        pytest.skip(f"{what} not found at {path} (../shared is absent)")
    return path


@pytest.fixture(scope="session")
def shared_segy() -> Path:
    """The folder of real SEG-Y files (../shared/data/segy); skips when it is absent."""
    return _shared("segy", "real SEG-Y files")


@pytest.fixture(scope="session")
def image_dir() -> Path:
    """The folder of the image benchmarks (../shared/data/images); skips when it is absent."""
    return _shared("images", "image benchmarks")


@pytest.fixture(scope="session")
def tiny_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated stand-in for the MNIST file layout: 16x16 images of two shapes (bars
    and blobs) with labels, in ``<dir>/mnist.npz``; fast enough for multi-process tests."""
    import numpy as np

    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("tiny_images")

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 2, n)
        yy, xx = np.mgrid[:16, :16]
        images = np.zeros((n, 16, 16))
        for i, label in enumerate(labels):
            cx, cy = rng.uniform(4, 12, 2)
            if label:
                images[i] = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 8.0)
            else:
                images[i] = (np.abs(xx - cx) < 1.5) * 1.0
        noisy = images * 230 + rng.uniform(0, 25, images.shape)
        return noisy.clip(0, 255).astype(np.uint8), labels

    x_train, y_train = make(512)
    x_test, y_test = make(128)
    np.savez(root / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return root


#: Anomalies planted by ``layered_survey``: (inline index, crossline index, sample, height).
#: B sits under A (same trace, later); D is three crosslines (37.5 m) from A; C is far off.
PLANTED = {
    "A": (6, 8, 30, 5.0),
    "B": (6, 8, 70, 3.0),
    "C": (15, 10, 50, 4.0),
    "D": (6, 11, 30, 4.5),
}


@pytest.fixture(scope="session")
def layered_survey(make_survey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small survey store (with a missing corner) holding a ``facies`` layer (code = inline
    index // 5, so every code 0..4 occurs; -1 where no trace), ``facies_confidence`` and an
    ``anomaly`` layer of four Gaussian bumps (:data:`PLANTED`) on zero; written with
    ``write_layer``, no training."""
    import dask.array as da
    import numpy as np

    from seisflow.infer.writeback import write_layer
    from seisflow.ingest import open_survey, segy_to_zarr

    survey = make_survey(missing_corner=True)
    store = segy_to_zarr(survey.segy, tmp_path_factory.mktemp("layered") / "s.zarr").store
    dataset = open_survey(store)
    chunks = dataset.amplitude.data.chunks
    live = dataset.trace_mask.values[..., None]
    i, j, k = np.indices(dataset.amplitude.shape)
    facies = np.where(live, i // 5, -1).astype(np.int16)
    write_layer(store, "facies", da.from_array(facies, chunks=chunks), attrs={
        "long_name": "seismic facies", "flag_values": list(range(5)),
        "flag_meanings": "topic_0 topic_1 topic_2 topic_3 topic_4",
        "colors": ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE"]})  # fmt: skip
    confidence = np.where(live, 0.5 + 0.1 * (k % 5), np.nan).astype(np.float32)
    write_layer(store, "facies_confidence", da.from_array(confidence, chunks=chunks),
                attrs={"long_name": "probability of the facies topic"})  # fmt: skip
    anomaly = np.zeros(dataset.amplitude.shape)
    for a, b, c, height in PLANTED.values():
        assert live[a, b, 0], "a planted anomaly must sit on a live trace"
        anomaly += height * np.exp(-((i - a) ** 2 + (j - b) ** 2) / 2 - (k - c) ** 2 / 8)
    anomaly = np.where(live, anomaly, np.nan).astype(np.float32)
    write_layer(store, "anomaly", da.from_array(anomaly, chunks=chunks),
                attrs={"long_name": "anomaly", "units": "bits/dim"})  # fmt: skip
    return store


@pytest.fixture(scope="session")
def planted() -> dict[str, tuple[int, int, int, float]]:
    """The anomalies planted in ``layered_survey``."""
    return PLANTED


#: Settings of a tiny LDA run that trains in seconds (``train(..., overrides=TINY_RUN)``).
TINY_RUN = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=3",
            "train.eval_every=0", "data.size=16", "data.stride=8", "data.buffer=128",
            "model.topics=3", "model.prior=lda", "train.warmup=0"]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_run(make_survey, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(store, run)``: a small survey store (a missing corner, chunks 8 x 15 x 48, so
    several chunk columns) and a tiny LDA run trained on it (:data:`TINY_RUN`). Copy the
    store before writing layers into it."""
    from seisflow.ingest import segy_to_zarr
    from seisflow.train import train

    root = tmp_path_factory.mktemp("tiny_run")
    survey = make_survey(missing_corner=True)
    store = segy_to_zarr(survey.segy, root / "s.zarr", chunks=(8, 15, 48)).store
    train(str(store), root / "run", overrides=TINY_RUN, progress=False)
    return store, root / "run"


@pytest.fixture
def bucket(request: pytest.FixtureRequest) -> str:
    """A new, empty bucket on the session's S3 server: ``s3://<bucket>``."""
    request.getfixturevalue("s3_server")
    return _new_bucket("s3", request)


CLOUDS = {"s3": "s3_server", "az": "azure_server", "gs": "gcs_server"}


@pytest.fixture(params=sorted(CLOUDS))
def cloud_bucket(request: pytest.FixtureRequest) -> str:
    """A new, empty bucket (an Azure container) on each cloud's server in turn: ``az://...``,
    ``gs://...``, ``s3://...``."""
    request.getfixturevalue(CLOUDS[request.param])
    return _new_bucket(request.param, request)


def _new_bucket(protocol: str, request: pytest.FixtureRequest) -> str:
    import re
    import uuid

    import fsspec

    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    name = f"{name}-{uuid.uuid4().hex[:12]}"
    fsspec.filesystem(protocol, skip_instance_cache=True).mkdir(name)
    return f"{protocol}://{name}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The exit-time finalizers adlfs cannot run, detached as the CLI does."""
    from seisflow.storage import close_filesystems

    close_filesystems()
