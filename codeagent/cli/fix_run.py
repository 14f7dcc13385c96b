"""``codeagent fix`` at work (the parser is in ``fix_command``, so other commands do not pay
for importing this): find why the tests fail and fix the code, headless.

Composition root of a fix session: settings, the provider (embedded model, OpenAI, or any
Responses endpoint), the work copy, the test runner, the reporter; then the session; then the
outputs (the patch file, the step summary, ``--apply``). Exit codes: 0 fixed or nothing to fix,
1 not fixed within the budget, 2 usage or configuration error, 3 model or transport error, 4
the tests could not run at all. Every failure is one line on stderr, never a traceback; a
reader that goes away (``--json | head -1``) ends the output, not the session.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from codeagent.agent.bench import FixOptions
from codeagent.agent.conversation import Emit
from codeagent.agent.events import Finished, Note, SessionStarted
from codeagent.agent.inbox import Inbox
from codeagent.agent.outcome import EXIT_USAGE, Budget
from codeagent.agent.session import exit_code_of, fix
from codeagent.cli.fix_settings import FixSettings, find_python, merge_fix
from codeagent.cli.fix_settings import pytest_args as parse_test_cmd
from codeagent.cli.headless import Reporter, step_summary
from codeagent.cli.logs import debug_to_stderr
from codeagent.cli.provider import Provider, open_provider
from codeagent.errors import CodeagentError, ConfigError
from codeagent.tools.apply import apply_to_user
from codeagent.tools.process_guard import guard_process
from codeagent.tools.pytest_runner import PytestRunner
from codeagent.tools.sandbox import find_sandbox
from codeagent.tools.workspace import WorkCopy
from codeagent.transport.models import first_model


def run(args: argparse.Namespace) -> int:
    quiet_logs()
    environ = protect_process()
    project = Path(args.path).resolve()
    reporter: Reporter | None = None
    try:
        if not project.is_dir():
            raise ConfigError(f"{args.path}: not a directory")
        settings = merge_fix(project, environ, flags(args), trust=args.trust_project_config)
        reporter = Reporter(
            sys.stderr,
            sys.stdout if args.json else None,
            Path(args.trajectory) if args.trajectory else None,
            verbose=args.verbose,
        )
        finished = run_session(project, settings, reporter, environ=environ)
        return _outputs(args, project, finished)
    except CodeagentError as exc:
        say(f"codeagent: error: {exc}")
        return exit_code_of(exc)
    except Interrupted as stop:
        say(f"codeagent: {stop}: stopped; the work copy was removed and nothing was applied")
        return stop.exit_code
    finally:
        if reporter is not None:
            reporter.close()


def quiet_logs() -> None:
    """Failures reach the user as one line (the ``finished`` event); tracebacks only with
    ``CODEAGENT_DEBUG=1``."""
    root = logging.getLogger("codeagent")
    if os.environ.get("CODEAGENT_DEBUG"):
        debug_to_stderr([os.environ.get("OPENAI_API_KEY", "")])
        return
    root.addHandler(logging.NullHandler())
    root.propagate = False


def protect_process() -> dict[str, str]:
    """The environment as it was, for the settings and the provider to read; then this
    process's secrets are put out of the tests' reach (``tools.process_guard``)."""
    environ = dict(os.environ)
    guard_process()
    return environ


def run_session(
    project: Path,
    settings: FixSettings,
    emit: Emit,
    inbox: Inbox | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Finished:
    """One fix session of ``project``: provider, sandbox, work copy, test runner, then
    ``fix``. First, a warning for each setting of the project's config that was ignored.
    ``environ``: where the provider finds ``OPENAI_API_KEY`` (default ours)."""
    for ignored in settings.provenance.ignored:
        emit(Note("warning", ignored.warning))
    sandbox = find_sandbox(settings.sandbox)
    if not sandbox.active:
        emit(Note("warning", f"sandbox: {sandbox.note}"))
    python = find_python(project, settings.python)
    args = parse_test_cmd(settings.test_cmd)
    if args is None:
        raise ConfigError(
            f"--test-cmd {settings.test_cmd!r}: only pytest commands are supported "
            "(pytest ARGS or python -m pytest ARGS)"
        )
    with (
        open_provider(settings, os.environ if environ is None else environ) as provider,
        WorkCopy.create(project) as work,
        PytestRunner(
            work.root,
            python=python,
            args=args,
            timeout=settings.test_timeout,
            sandbox=sandbox,
            writable=(work.top,),
        ) as tests,
        interruptible(tests.abort),
    ):
        model = provider.model or asyncio.run(
            first_model(provider.base_url, api_key=provider.api_key)
        )
        options = _options(settings, provider)
        emit(
            SessionStarted(
                repo=str(project),
                work_copy=str(work.root),
                strategy=options.strategy,
                model=model,
                provider=provider.name,
                python=python,
                test_command=settings.test_cmd or f"{python} -m pytest",
                budget={
                    "turns": options.budget.turns,
                    "seconds": options.budget.seconds,
                    "tokens": options.budget.tokens,
                },
                sources=dict(settings.provenance.sources),
                sandbox=sandbox.note,
            )
        )
        client = provider.client(settings.transport, model, idle_timeout=settings.idle_timeout)

        async def main() -> Finished:
            async with client:
                return await fix(
                    work, tests, client, options, emit, index_cache_for=project, inbox=inbox
                )

        return asyncio.run(main())


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM during a session: the session unwinds (its test run stopped at once,
    the work copy and the fork server removed) and the process exits 128 + the signal."""

    def __init__(self, signum: int) -> None:
        self.exit_code = 128 + signum
        super().__init__(signal.Signals(signum).name)


@contextlib.contextmanager
def interruptible(abort: Callable[[], None]) -> Iterator[None]:
    """Within, the first SIGINT or SIGTERM calls ``abort`` (the test run in progress ends
    now, not at its timeout) and raises ``Interrupted`` in the main thread, so every ``with``
    cleans up on the way out; a second one ends the process as the signal would. Only in the
    main thread (elsewhere, as in the interface's workers, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    before = {signum: signal.getsignal(signum) for signum in signals}

    def stop(signum: int, frame: object) -> None:
        for each in signals:
            signal.signal(each, signal.SIG_DFL)
        abort()
        raise Interrupted(signum)

    for signum in signals:
        signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _options(settings: FixSettings, provider: Provider) -> FixOptions:
    strategy = settings.strategy
    if strategy == "auto":
        strategy = "guided" if provider.embedded else "tools"
    return FixOptions(
        strategy=strategy,
        budget=Budget(settings.max_turns, settings.max_time, settings.max_tokens),
        allow_test_edits=settings.allow_test_edits,
        test_timeout=settings.test_timeout,
        map_tokens=256 if provider.embedded else 1024,
    )


def _outputs(args: argparse.Namespace, project: Path, finished: Finished) -> int:
    patch_path: Path | None = None
    if finished.patch:
        patch_path = Path(args.output) if args.output else default_patch_path(project)
        write_patch(patch_path, finished.patch)
        say(f"patch: {patch_path}")
    elif args.output:
        write_patch(Path(args.output), "")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(step_summary(finished, str(project), str(patch_path or "") or None))
        except OSError as exc:
            say(f"codeagent: warning: cannot write the step summary {summary}: {exc.strerror}")
    if args.apply and finished.patch:
        try:
            applied = apply_to_user(project, finished.patch, commit=not args.no_commit)
        except CodeagentError as exc:
            say(f"codeagent: error: not applied: {exc}")
            return EXIT_USAGE
        say(f"applied: {applied}")
    return finished.exit_code


def write_patch(path: Path, patch: str) -> None:
    """The patch's exact bytes: text that was not UTF-8 in the files it changes (decoded with
    ``surrogateescape``) is written back as the bytes it was."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(patch, encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise ConfigError(f"cannot write the patch {path}: {exc.strerror}") from None


def say(line: str) -> None:
    """One line on stderr; a closed stderr loses it and nothing else."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def default_patch_path(project: Path) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(base) / "codeagent" / "fixes" / f"{project.name}-{stamp}.patch"


def flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "test_cmd": args.test_cmd,
        "python": args.python,
        "strategy": args.strategy,
        "model": args.model,
        "base_url": args.base_url,
        "transport": args.transport,
        "max_turns": args.max_turns,
        "max_time": args.max_time,
        "max_tokens": args.max_tokens,
        "test_timeout": args.test_timeout,
        "idle_timeout": args.idle_timeout,
        "allow_test_edits": args.allow_test_edits,
        "sandbox": args.sandbox,
    }
