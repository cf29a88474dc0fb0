"""The notebooks, executed top to bottom by a Jupyter kernel with tiny parameters.

Each notebook's first code cell is tagged ``parameters``; as papermill does, the test adds a
cell after it that sets tiny values (a temporary output folder, a small survey, two training
steps), runs the notebook with nbclient in ``notebooks/`` and fails on any error. Every
notebook must draw figures (``image/png`` outputs). The committed notebooks carry no outputs.

02 shares its output folder with 01, so (run after it) it takes the path users take: it
reuses 01's survey, model and layers. 03 has a folder of its own, so it builds them itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = [
    "01_quickstart.ipynb",
    "02_facies_clustering.ipynb",
    "03_anomaly_flagging.ipynb",
    "04_image_benchmarks.ipynb",
]

TINY_TRAINING = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=2",
                 "train.eval_every=0", "train.checkpoint_every=0", "train.warmup=1"]  # fmt: skip
TINY_PATCHES = ["data.size=16", "data.stride=8", "data.buffer=128", "model.topics=3"]
TINY_SURVEY = {
    "SHAPE": (16, 24, 64),
    "TRAIN_OVERRIDES": TINY_TRAINING + TINY_PATCHES,
    "PROGRESS": False,
}
TINY = {
    "01_quickstart.ipynb": TINY_SURVEY,
    "02_facies_clustering.ipynb": {**TINY_SURVEY, "N_LATENTS": 200},
    "03_anomaly_flagging.ipynb": {**TINY_SURVEY, "TOP": 5, "WINDOW": (6, 12)},
    "04_image_benchmarks.ipynb": {
        "DATASETS": ["mnist", "fashion_mnist"],  # the tiny folder has no fashion_mnist: skipped
        "STEPS": 2,
        "TRAIN_OVERRIDES": [*TINY_TRAINING, "model.topics=2"],
        "LIMIT": 64,
        "SAMPLES": 2,
        "PROGRESS": False,
    },
}
#: Notebooks that ran to the end in this session.
RAN: set[str] = set()
#: Fewest figures each notebook draws with the tiny parameters.
FIGURES = {
    "01_quickstart.ipynb": 3,
    "02_facies_clustering.ipynb": 5,
    "03_anomaly_flagging.ipynb": 3,
    "04_image_benchmarks.ipynb": 4,
}


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def parameters_cell(notebook: nbformat.NotebookNode) -> int:
    """Index of the first code cell, which must be tagged ``parameters``."""
    first = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
    assert "parameters" in notebook.cells[first].metadata.get("tags", []), "untagged parameters"
    return first


def assigned(source: str) -> set[str]:
    """Names a cell assigns at top level."""
    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def test_the_notebooks_are_committed_clean():
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == NAMES
    for name in NAMES:
        notebook = read(name)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name
        knobs = assigned(notebook.cells[parameters_cell(notebook)].source)
        assert {"OUT", "PROGRESS", "TRAIN_OVERRIDES"} <= knobs, name
        # the tests only shrink knobs the notebook has: no silent new variables
        assert set(TINY[name]) <= knobs, (name, set(TINY[name]) - knobs)


@pytest.fixture(scope="module")
def shared_out(tmp_path_factory):
    """The output folder of 01 and 02."""
    return tmp_path_factory.mktemp("notebooks") / "out"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_with_tiny_parameters(name, tmp_path, shared_out, tiny_images):
    notebook = read(name)
    out = shared_out if name[:2] in ("01", "02") else tmp_path / "out"
    values = {"OUT": out, **TINY[name]}
    if name.startswith("04"):
        values["DATA"] = Path(tiny_images)
    lines = ["# injected by tests/test_notebooks.py", "from pathlib import Path"]
    lines += [f"{key} = {value!r}".replace("PosixPath(", "Path(") for key, value in values.items()]
    injected = nbformat.v4.new_code_cell("\n".join(lines))
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(parameters_cell(notebook) + 1, injected)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})  # fmt: skip
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert figures >= FIGURES[name], f"{name} drew {figures} figures"
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]  # fmt: skip
    assert not errors
    if name.startswith("02") and "01_quickstart.ipynb" in RAN:
        printed = "".join(output.get("text", "") for cell in notebook.cells
                          if cell.cell_type == "code" for output in cell.outputs)  # fmt: skip
        assert "reusing the survey, model and layers" in printed
    RAN.add(name)
