from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles for the property tests (tests/test_properties_*.py). "ci", the default, is
# short and deterministic: derandomized (the same examples every run, so CI cannot go red by
# luck) and with no example database. "long" searches: random examples, 20,000 per property.
#   HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest -q -p no:randomly \
#       tests/test_properties_requests.py tests/test_properties_stream.py \
#       --hypothesis-show-statistics
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,  # a loaded 2-core CI machine makes timings noise
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=20_000,
    derandomize=False,
    database=None,  # print_blob reproduces any failure
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass(frozen=True)
class Served:
    port: int
    process: subprocess.Popen[str]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/responses"


def start_serve(*args: str) -> Served:
    """``codeagent serve --port 0 ARGS`` as a real process; the port is read from its banner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEAGENT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "codeagent", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    if "http://127.0.0.1:" not in banner:
        process.kill()
        raise RuntimeError(f"codeagent serve did not start: {banner!r}")
    port = int(banner.split("http://127.0.0.1:")[1].split("/")[0])
    return Served(port, process)


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    server = start_serve("--backend", "echo")
    yield server
    server.process.terminate()
    server.process.wait(10)
