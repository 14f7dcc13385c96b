"""A canary API key, passed through every path a key takes (serve's flag, environment, user
config and trusted project config; the upstream backend's key; ``codeagent fix``'s
``OPENAI_API_KEY``), must be used (the servers check it) and must appear in no log, no JSONL
event, no trajectory and no error message (error bodies included), on success and on failure."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from codeagent.cli.logs import Redacting
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer
from codeagent.testing.chat_upstream import FakeChatUpstream
from codeagent.testing.scripted import ScriptedBackend, Step
from tests.test_fix_scripted import FIX, of_kind

CANARY = f"sk-canary-{secrets.token_hex(12)}"


def serve(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Any, int]:
    """``codeagent serve --port 0 ARGS`` in ``cwd`` (where its project config is read; the user
    config is ``cwd/xdg/codeagent/config.toml``)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CODEAGENT_", "OPENAI_"))}
    base["XDG_CONFIG_HOME"] = str(cwd / "xdg")
    process = subprocess.Popen(
        [sys.executable, "-m", "codeagent", "serve", "--port", "0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**base, **(env or {})},
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    assert "http://127.0.0.1:" in banner, banner + process.communicate(timeout=10)[0]
    return process, int(banner.split("http://127.0.0.1:")[1].split("/")[0])


def stop(process: Any) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=10)
    return str(output)


def exercise(port: int) -> str:
    """The right key, a wrong one, none, and a bad request with the right key: everything the
    clients were told, concatenated."""
    url = f"http://127.0.0.1:{port}/v1"
    good = {"Authorization": f"Bearer {CANARY}"}
    seen = []
    with httpx.Client(timeout=30) as client:
        ok = client.post(f"{url}/responses", json={"model": "m", "input": "hi"}, headers=good)
        assert ok.status_code == 200, ok.text  # the key was taken
        seen.append(ok.text)
        for headers in ({"Authorization": f"Bearer {CANARY}x"}, {}):
            refused = client.post(f"{url}/responses", json={"input": "hi"}, headers=headers)
            assert refused.status_code == 401
            seen.append(refused.text)
        bad = client.post(f"{url}/responses", content=b'{"input": [', headers=good)
        assert bad.status_code == 400
        seen.append(bad.text)
    return "\n".join(seen)


def user_config(home: Path, text: str) -> None:
    (home / "xdg" / "codeagent").mkdir(parents=True)
    (home / "xdg" / "codeagent" / "config.toml").write_text(text)


@pytest.mark.parametrize("path", ["flag", "environment", "user config", "trusted project config"])
def test_serves_key_is_used_and_never_shown(tmp_path: Path, path: str) -> None:
    args: list[str] = ["--backend", "echo"]
    env: dict[str, str] = {}
    if path == "flag":
        args += ["--api-key", CANARY]
    elif path == "environment":
        env["CODEAGENT_API_KEY"] = CANARY
    elif path == "user config":
        user_config(tmp_path, f'[serve]\napi_key = "{CANARY}"\n')
    else:
        (tmp_path / ".codeagent.toml").write_text(f'[serve]\napi_key = "{CANARY}"\n')
        args.append("--trust-project-config")
    process, port = serve(tmp_path, *args, env=env)
    try:
        told = exercise(port)
    finally:
        log = stop(process)
    assert CANARY not in told
    assert CANARY not in log


@pytest.mark.parametrize("where", ["user config", "trusted project config"])
def test_a_bad_key_setting_does_not_echo_the_key(tmp_path: Path, where: str) -> None:
    if where == "user config":
        user_config(tmp_path, f'[serve]\napi_key = ["{CANARY}"]\n')
    else:
        (tmp_path / ".codeagent.toml").write_text(f'[serve]\napi_key = ["{CANARY}"]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEAGENT_", "OPENAI_"))}
    done = subprocess.run(
        [sys.executable, "-m", "codeagent", "serve", "--port", "0", "--trust-project-config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
    )
    assert done.returncode == 2
    assert "api_key" in done.stderr
    assert CANARY not in done.stdout + done.stderr


@pytest.fixture
def upstream_says_the_key() -> Iterator[str]:
    """An upstream that refuses every request, quoting the key it was sent (some proxies do)."""

    async def refuse(request: Request) -> Response:
        sent = request.headers.get("authorization", "")
        body = {"error": {"message": f"Incorrect API key provided: {sent}", "code": "bad_key"}}
        return JSONResponse(body, status_code=401)

    app = Starlette(routes=[Route("/v1/chat/completions", refuse, methods=["POST"])])
    with BackgroundServer(EchoBackend(), ServerConfig(port=0), app=app) as running:
        yield running.base_url


def test_the_upstream_key_is_used_and_never_shown(
    tmp_path: Path, upstream_says_the_key: str
) -> None:
    fake = FakeChatUpstream(api_key=CANARY)  # refuses any request without the key
    with BackgroundServer(EchoBackend(), ServerConfig(port=0), app=fake.app()) as running:
        args = ["--backend", "upstream", "--upstream-url", running.base_url]
        process, port = serve(tmp_path, *args, "--upstream-key-env", "KEY", env={"KEY": CANARY})
        try:
            with httpx.Client(timeout=30) as client:
                ok = client.post(
                    f"http://127.0.0.1:{port}/v1/responses", json={"model": "m", "input": "hi"}
                )
        finally:
            log = stop(process)
    assert ok.status_code == 200, ok.text
    assert fake.requests  # it got through: the key was sent
    assert CANARY not in ok.text + log

    args = ["--backend", "upstream", "--upstream-url", upstream_says_the_key]
    process, port = serve(tmp_path, *args, "--upstream-key-env", "KEY", env={"KEY": CANARY})
    try:
        with httpx.Client(timeout=30) as client:
            failed = client.post(
                f"http://127.0.0.1:{port}/v1/responses", json={"model": "m", "input": "hi"}
            )
    finally:
        log = stop(process)
    assert "Incorrect API key provided" in failed.text  # the upstream's words go through...
    assert CANARY not in failed.text + log  # ...without the key


def test_fixs_key_is_used_and_never_shown(repo: Path, tmp_path: Path) -> None:
    """``OPENAI_API_KEY`` with ``--base-url``: sent to the server (which requires it), absent
    from the events, the trajectory, stderr; and absent from the error when it is refused."""
    backend = ScriptedBackend([Step(call="apply_patch", arguments={"patch": FIX})])
    trajectory = tmp_path / "run.jsonl"
    os.environ["OPENAI_API_KEY"] = CANARY
    try:
        with BackgroundServer(backend, ServerConfig(port=0, api_key=CANARY)) as server:
            code, events, err = _fix_with_key(repo, server.base_url, trajectory)
        assert code == 0, err
        assert of_kind(events, "finished")[-1]["outcome"] == "fixed"
        written = trajectory.read_text()
        assert CANARY not in json.dumps(events) + err + written

        with BackgroundServer(backend, ServerConfig(port=0, api_key="another")) as server:
            code, events, err = _fix_with_key(repo, server.base_url, trajectory)
        assert code == 3
        assert "401" in err or "API key" in err
        assert CANARY not in json.dumps(events) + err + trajectory.read_text()
    finally:
        del os.environ["OPENAI_API_KEY"]


def _fix_with_key(project: Path, url: str, trajectory: Path) -> tuple[int, list[Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEAGENT_")}
    env["XDG_CACHE_HOME"] = str(project.parent / "cache")
    env["CODEAGENT_DEBUG"] = "1"  # the most talkative logs, tracebacks included
    done = subprocess.run(
        [sys.executable, "-m", "codeagent", "fix", str(project), "--headless", "--json",
         "--verbose", "--python", sys.executable, "--base-url", url, "--strategy", "tools",
         "--trajectory", str(trajectory)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, events, done.stderr


def test_the_log_filter_scrubs_bearer_tokens_and_known_keys() -> None:
    scrub = Redacting([CANARY]).scrub
    assert scrub("> Authorization: Bearer abc.DEF-123") == "> Authorization: Bearer [redacted]"
    assert (
        scrub(f"upstream said: key {CANARY} is wrong") == "upstream said: key [redacted] is wrong"
    )
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "sent %s", (CANARY,), None)
    try:
        raise RuntimeError(f"refused {CANARY}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert Redacting([CANARY]).filter(record)
    assert CANARY not in record.getMessage()
    assert record.exc_text is not None
    assert CANARY not in record.exc_text
    assert "refused [redacted]" in record.exc_text
