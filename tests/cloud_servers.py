"""Object-storage servers on loopback for the tests, each a real server in its own process.

S3: moto's server (``python -m moto.server``, from the dev extra). Azure Blob Storage: Azurite,
Microsoft's emulator (``make`` installs it with npm into ``.venv/node``). Google Cloud Storage:
gcp-storage-emulator (the dev extra). Each server's endpoint and dummy credentials go into the
cloud's standard environment (``AWS_ENDPOINT_URL``, ``AZURE_STORAGE_CONNECTION_STRING``,
``STORAGE_EMULATOR_HOST``), which the fsspec filesystems and seisflow's subprocesses read.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["azure_server", "gcs_server", "s3_server"]

# Azurite's documented development account (a public, well-known key, not a secret)
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serving(
    name: str, command: list[str], url: str, environment: dict[str, str]
) -> Iterator[None]:
    """Run ``command`` until the with-block ends, once ``url`` answers HTTP (any status), with
    ``environment`` set in ``os.environ`` meanwhile."""
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except urllib.error.HTTPError:  # it answers: an error status is an answer
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the {name} server did not start on {url}: {' '.join(command)}")
            time.sleep(0.2)
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible server (moto's) on a free loopback port for the whole session.
    Yields its endpoint URL."""
    pytest.importorskip(
        "moto.server", reason="moto[server] is not installed: pip install -e '.[dev]'"
    )
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    environment = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    with _serving("moto S3", command, endpoint, environment):
        yield endpoint


def _azurite() -> str | None:
    """Azurite's blob server: on PATH, or where ``make`` installs it (``.venv/node``)."""
    found = shutil.which("azurite-blob")
    installed = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "azurite-blob"
    return found or (str(installed) if installed.exists() else None)


@pytest.fixture(scope="session")
def azure_server() -> Iterator[str]:
    """Azurite's Blob service on a free loopback port for the whole session, with its
    development account in ``AZURE_STORAGE_CONNECTION_STRING`` (which adlfs reads). Yields
    the blob endpoint URL."""
    pytest.importorskip("adlfs", reason="adlfs is not installed: pip install -e '.[dev]'")
    azurite = _azurite()
    if azurite is None:
        pytest.skip("Azurite is not installed: `make .venv/.seisflow-installed` (needs npm)")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}/devstoreaccount1"
    command = [azurite, "--blobHost", "127.0.0.1", "--blobPort", str(port),
               "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent",
               "--disableTelemetry"]  # fmt: skip
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
    )
    with _serving("Azurite", command, endpoint, {"AZURE_STORAGE_CONNECTION_STRING": connection}):
        yield endpoint


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[str]:
    """gcp-storage-emulator on a free loopback port for the whole session, named in
    ``STORAGE_EMULATOR_HOST`` (which gcsfs reads). gcsfs's experimental bucket-type probe
    (gRPC, which the emulator does not speak: a minute's retries per call) is turned off
    through its switch, ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT``, read when gcsfs is imported.
    Yields the endpoint URL."""
    emulator = shutil.which("gcp-storage-emulator", path=str(Path(sys.executable).parent))
    if emulator is None or importlib.util.find_spec("gcsfs") is None:
        pytest.skip("gcsfs or gcp-storage-emulator is not installed: pip install -e '.[dev]'")
    if "gcsfs" in sys.modules and sys.modules["gcsfs"].GCSFileSystem.__name__ != "GCSFileSystem":
        pytest.fail("gcsfs was imported before GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT was set")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [emulator, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"]
    environment = {"STORAGE_EMULATOR_HOST": endpoint, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
    with _serving("gcp-storage-emulator", command, endpoint, environment):
        yield endpoint
