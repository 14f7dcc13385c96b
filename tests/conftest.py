from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@pytest.fixture(autouse=True)
def _no_user_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A developer's own ``~/.config/codeagent/config.toml`` must not reach the tests (nor the
    ``codeagent`` processes they start): every test sees an empty user config folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))


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


SAMPLE = Path(__file__).resolve().parent.parent / "sample_repos" / "calc"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of ``sample_repos/calc`` (one failing test)."""
    root = tmp_path / "calc"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "calc")
    return root


@pytest.fixture
def scripted() -> Iterator[Any]:
    """``serve(*steps)``: a scripted model behind a real local server; its base URL and
    backend."""
    from codeagent.server.config import ServerConfig
    from codeagent.server.run import BackgroundServer
    from codeagent.testing.scripted import ScriptedBackend, Step

    servers: list[BackgroundServer] = []

    def serve(*steps: Step) -> tuple[str, ScriptedBackend]:
        backend = ScriptedBackend(list(steps))
        server = BackgroundServer(backend, ServerConfig(port=0))
        servers.append(server.__enter__())
        return server.base_url, backend

    yield serve
    for server in servers:
        server.__exit__(None, None, None)
