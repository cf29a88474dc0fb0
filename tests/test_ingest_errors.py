"""Ingest errors (issue 15, "Nothing lost, ever"): one corrupt header, bad byte locations or
settings, a contradicted CRS, an unreachable scheduler: each gets one clear line, never a
traceback or an out-of-memory kill; 2-D lines and short runs get sensible summaries."""

from __future__ import annotations

import re
import resource
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import segyio
from clitools import assert_one_line
from clitools import run as run_cli

from seisflow.commands.params import rate_text
from seisflow.errors import ConfigError, SegyFormatError
from seisflow.ingest import ByteLocations, open_survey, segy_to_zarr
from seisflow.ingest.byte_locations import FIELD_BYTES
from seisflow.ingest.segy_writer import SegyWriter, text_header

TF = segyio.TraceField
NS = 96  # samples per trace of the files written here
TRACE_BYTES = 240 + 4 * NS  # IEEE samples
MEMORY_LIMIT = 2 << 30  # address space of a subprocess that must not allocate the grid


def run(*args: str, limit_memory: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m seisflow ARGS``; with ``limit_memory``, under a 2 GB address-space limit
    so that a regression fails with MemoryError instead of taking the machine's memory."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return run_cli(*args, timeout=300, preexec_fn=limit if limit_memory else None)


def write_segy(
    path: Path,
    inline: np.ndarray,
    crossline: np.ndarray,
    *,
    cdp: np.ndarray | None = None,
    text: tuple[str, ...] = (),
) -> Path:
    """A small IEEE SEG-Y with the sample count in every trace header, as real files have."""
    n = len(inline)
    fields = {
        TF.INLINE_3D: np.asarray(inline),
        TF.CROSSLINE_3D: np.asarray(crossline),
        TF.CDP_X: 1000 + 25 * np.arange(n),
        TF.CDP_Y: 5000 + 10 * np.arange(n),
        TF.TRACE_SAMPLE_COUNT: np.full(n, NS),
    }
    if cdp is not None:
        fields[TF.CDP] = np.asarray(cdp)
    samples = np.random.default_rng(0).standard_normal((n, NS)).astype(np.float32)
    header = text_header(list(text))
    with SegyWriter(path, samples=NS, interval_us=4000, format="ieee", text=header, binary={},
                    fields=list(fields)) as writer:  # fmt: skip
        writer.write(fields, samples)
    return path


def grid_segy(path: Path, **kwargs: object) -> Path:
    """A 20 x 24 grid, inline sorted: 480 traces."""
    inline, crossline = np.meshgrid(np.arange(1, 21), np.arange(1, 25), indexing="ij")
    return write_segy(path, inline.ravel(), crossline.ravel(), **kwargs)  # type: ignore[arg-type]


def patch(path: Path, offset: int, value: int, size: int) -> Path:
    """Overwrite ``size`` big-endian bytes at ``offset`` of the file."""
    data = bytearray(path.read_bytes())
    data[offset : offset + size] = value.to_bytes(size, "big", signed=value < 0)
    path.write_bytes(bytes(data))
    return path


def trace_word(trace: int, byte: int) -> int:
    """File offset of trace-header ``byte`` (1-based) of ``trace`` (0-based)."""
    return 3600 + trace * TRACE_BYTES + byte - 1


def leftovers(folder: Path) -> list[str]:
    """Anything store-like in ``folder``, hidden staging folders included."""
    return sorted(p.name for p in folder.iterdir() if "zarr" in p.name or "partial" in p.name)


# 1. one corrupt header must not take all memory


def test_corrupt_inline_is_named_without_allocating_the_grid(tmp_path: Path) -> None:
    path = patch(grid_segy(tmp_path / "bad_il.sgy"), trace_word(7, 189), 2147483647, 4)
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), limit_memory=True)
    assert_one_line(out, 1, "bad_il.sgy", "trace 7 (0-based)", "2147483647/8", "far outside",
                    "inlines 1-20, crosslines 1-24", "corrupt header", "--iline-byte")  # fmt: skip
    assert leftovers(tmp_path) == []


def test_several_corrupt_traces_are_all_named(tmp_path: Path) -> None:
    path = grid_segy(tmp_path / "bad.sgy")
    patch(path, trace_word(3, 189), -2147483648, 4)
    patch(path, trace_word(200, 193), 1 << 30, 4)
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), limit_memory=True)
    assert_one_line(out, 1, "traces 3, 200 (0-based) have inline/crossline (bytes 189/193) "
                    "-2147483648/4, 9/1073741824, far outside the others")  # fmt: skip


def test_corrupt_cdp_of_a_2d_line_is_named(tmp_path: Path) -> None:
    zeros = np.zeros(300, int)
    path = write_segy(tmp_path / "line.sgy", zeros, zeros, cdp=np.arange(1000, 1300))
    patch(path, trace_word(17, 21), 2**31 - 1, 4)
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), limit_memory=True)
    assert_one_line(out, 1, "trace 17 (0-based) has CDP (byte 21) 2147483647, far outside "
                    "the others (CDPs 1000-1299)")  # fmt: skip


@pytest.mark.parametrize(
    ("binary", "fragments"),
    [
        (100, ("say 100 samples per trace", "trace headers say 96", "set bytes 3221-3222")),
        (0, ("say 0 samples per trace", "cannot be right", "first trace header says 96")),
    ],
)
def test_binary_sample_count_checked_against_trace_headers(
    tmp_path: Path, binary: int, fragments: tuple[str, ...]
) -> None:
    """A binary count that still divides the file size (100 x 468 = 96 x 480 traces' bytes)
    or that is 0 is not trusted: the trace headers (bytes 115-116) are the witness."""
    path = patch(grid_segy(tmp_path / f"ns{binary}.sgy"), 3220, binary, 2)
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), limit_memory=True)
    assert_one_line(out, 1, f"ns{binary}.sgy", *fragments)
    assert leftovers(tmp_path) == []


def test_wrong_binary_count_without_trace_counts_stays_bounded(tmp_path: Path) -> None:
    """No witness in the trace headers: the garbage geometry is refused, not allocated."""
    path = grid_segy(tmp_path / "blind.sgy")
    for trace in range(480):
        patch(path, trace_word(trace, 115), 0, 2)
    patch(path, 3220, 100, 2)
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), limit_memory=True)
    assert_one_line(out, 1, "blind.sgy", "degenerate", "bytes 3221-3222")


def test_stale_trace_header_count_uses_the_binary_count_and_says_so(tmp_path: Path) -> None:
    path = patch(grid_segy(tmp_path / "stale.sgy"), trace_word(0, 115), 462, 2)
    with pytest.warns(UserWarning, match=r"trace headers say 462 .* using 96, which fits"):
        report = segy_to_zarr(path, tmp_path / "s.zarr", crs="EPSG:23031")
    assert report.shape == (20, 24, NS)


# 2. byte locations


@pytest.mark.parametrize(
    ("option", "field", "value", "usual"),
    [
        ("--iline-byte", "inline", 999, "189"),
        ("--iline-byte", "inline", 0, "189"),
        ("--xline-byte", "crossline", 238, "193"),
        ("--cdpx-byte", "cdp_x", 183, "181"),
        ("--cdpy-byte", "cdp_y", -5, "185"),
        ("--cdp-byte", "cdp", 241, "21"),
        ("--scalar-byte", "scalar", 72, "71"),
    ],
)
def test_byte_locations_are_validated(
    tmp_path: Path, option: str, field: str, value: int, usual: str
) -> None:
    path = grid_segy(tmp_path / "f.sgy")
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), option, str(value))
    message = assert_one_line(out, 2, f"{option} {value} ", "4-byte word at 1-25", "237",
                              "2-byte word", f"such as {usual}")  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        ByteLocations(**{field: value})
    assert str(caught.value) == message
    assert leftovers(tmp_path) == []


def test_valid_bytes_are_exactly_the_fields_segyio_reads(tmp_path: Path) -> None:
    path = grid_segy(tmp_path / "f.sgy")
    with segyio.open(path, ignore_geometry=True) as handle:
        readable = set()
        for byte in range(-1, 245):
            try:
                handle.attributes(byte)[0]
            except RuntimeError:
                continue
            readable.add(byte)
    assert readable == set(FIELD_BYTES)
    report = segy_to_zarr(path, tmp_path / "s.zarr", crs="EPSG:23031",
                          locations=ByteLocations(cdp=237, scalar=233))  # fmt: skip
    assert report.shape == (20, 24, NS)


# 3. settings from Python: the command line's errors, before any output


@pytest.mark.parametrize(
    ("setting", "cli", "fragments"),
    [
        ({"domain": "space"}, ("--domain", "space"), ("--domain 'space'", "time (ms)")),
        ({"chunks": "abc"}, ("--chunks", "abc"), ("--chunks 'abc'", "64,64,256")),
        ({"chunks": (0, 1, 1)}, ("--chunks", "0,1,1"), ("--chunks '0,1,1'",)),
        ({"duplicates": "middle"}, ("--duplicates", "middle"), ("'middle'", "first or last")),
    ],
)
def test_bad_settings_from_python_match_the_command_line(
    tmp_path: Path, setting: dict[str, object], cli: tuple[str, str], fragments: tuple[str, ...]
) -> None:
    path = grid_segy(tmp_path / "f.sgy")
    with pytest.raises(ConfigError) as caught:
        segy_to_zarr(path, tmp_path / "out" / "s.zarr", **setting)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()  # nothing created, not even the folder
    message = assert_one_line(run("ingest", str(path), str(tmp_path / "c.zarr"), *cli), 2,
                              *fragments)  # fmt: skip
    assert str(caught.value) == message
    assert leftovers(tmp_path) == []


def test_settings_given_as_strings_work(tmp_path: Path) -> None:
    path = grid_segy(tmp_path / "f.sgy")
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), "--chunks", "8,8,96",
              "--domain", "depth", "--duplicates", "first", "--crs", "EPSG:23031")  # fmt: skip
    assert out.returncode == 0, out.stderr
    store = open_survey(tmp_path / "s.zarr")
    assert "depth" in store.amplitude.dims and store.amplitude.encoding["chunks"] == (8, 8, 96)


# 4. a --crs that contradicts the text header


def test_crs_contradicting_the_text_header_warns_and_is_kept(tmp_path: Path) -> None:
    path = grid_segy(tmp_path / "f.sgy", text=("CRS ED50 / UTM zone 31N EPSG:23031",))
    with pytest.warns(UserWarning, match=r"--crs EPSG:32631 differs from EPSG:23031 named in"):
        report = segy_to_zarr(path, tmp_path / "a.zarr", crs="EPSG:32631")
    assert report.crs == "EPSG:32631"
    out = run("ingest", str(path), str(tmp_path / "b.zarr"), "--crs", "EPSG:32631")
    assert out.returncode == 0, out.stderr
    assert "seisflow: warning: " in out.stderr
    assert "EPSG:32631" in out.stderr and "EPSG:23031" in out.stderr
    assert open_survey(tmp_path / "b.zarr").attrs["proj:code"] == "EPSG:32631"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # agreeing codes: no warning
        segy_to_zarr(path, tmp_path / "c.zarr", crs="EPSG:23031")


# 5. a 2-D line says how it was placed; 6. wording and rates


def test_2d_line_summary_says_it_was_placed_by_cdp(tmp_path: Path) -> None:
    zeros = np.zeros(50, int)
    path = write_segy(tmp_path / "line.sgy", zeros, zeros, cdp=np.arange(101, 151))
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), "--crs", "EPSG:23031")
    assert out.returncode == 0, out.stderr
    assert "2-D line (placed by CDP: inline/crossline bytes 189/193 are empty) 1 x 50" in out.stdout
    report = segy_to_zarr(path, tmp_path / "p.zarr", crs="EPSG:23031")
    assert report.is_2d and report.placement.startswith("placed by CDP")


def test_degenerate_duplicates_message_reads_correctly(tmp_path: Path) -> None:
    path = write_segy(tmp_path / "d.sgy", np.ones(480, int), np.repeat(np.arange(24), 20))
    with pytest.raises(SegyFormatError) as caught:
        segy_to_zarr(path, tmp_path / "s.zarr")
    assert "give a degenerate grid: the 480 traces fall in only 24 cells;" in str(caught.value)


def test_rates_are_sensible_on_small_files(tmp_path: Path) -> None:
    assert rate_text(3e5, 0.01) == ""  # too short to time
    assert rate_text(3e5, 0.5) == ", 0.6 MB/s"
    assert rate_text(4.2e6, 1.0) == ", 4.2 MB/s"
    assert rate_text(5e8, 1.0) == ", 500 MB/s"
    rate = re.compile(r"(, (\d+(\.\d+)?) MB/s)?")
    out = run("synth", str(tmp_path / "s.sgy"), "--shape", "8,8,32")
    assert out.returncode == 0, out.stderr
    found = re.search(r"MB(, (\S+) MB/s)?\)", out.stdout)
    assert found and (found.group(2) is None or float(found.group(2)) > 0), out.stdout
    out = run("ingest", str(grid_segy(tmp_path / "f.sgy")), str(tmp_path / "f.zarr"))
    assert out.returncode == 0, out.stderr
    tail = out.stdout.strip().split("CRS unknown", 1)[1]
    assert rate.fullmatch(tail) and " 0 MB/s" not in tail, out.stdout


# 7. an unreachable Dask scheduler


def test_unreachable_scheduler_fails_fast_and_leaves_nothing(tmp_path: Path) -> None:
    path = grid_segy(tmp_path / "f.sgy")
    out = run("ingest", str(path), str(tmp_path / "s.zarr"), "--scheduler", "tcp://127.0.0.1:1")
    assert_one_line(out, 2, "cannot reach the Dask scheduler at tcp://127.0.0.1:1: ",
                    "; start it or leave --scheduler out")  # fmt: skip
    assert leftovers(tmp_path) == []


def test_connect_refuses_a_malformed_address_and_leaves_dask_as_it_was() -> None:
    import dask

    from seisflow.cluster import connect

    before = dask.config.get("scheduler", None)
    with pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at nohost: .*port"):
        connect("nohost", timeout=0.5)
    assert dask.config.get("scheduler", None) == before  # later dask work must not hang
