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
import sys
import time
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
from codeagent.tools.pytest_runner import PytestRunner
from codeagent.tools.workspace import WorkCopy
from codeagent.transport.models import first_model


def run(args: argparse.Namespace) -> int:
    quiet_logs()
    project = Path(args.path).resolve()
    reporter: Reporter | None = None
    try:
        if not project.is_dir():
            raise ConfigError(f"{args.path}: not a directory")
        settings = merge_fix(project, os.environ, flags(args), trust=args.trust_project_config)
        reporter = Reporter(
            sys.stderr,
            sys.stdout if args.json else None,
            Path(args.trajectory) if args.trajectory else None,
            verbose=args.verbose,
        )
        finished = run_session(project, settings, reporter)
        return _outputs(args, project, finished)
    except CodeagentError as exc:
        say(f"codeagent: error: {exc}")
        return exit_code_of(exc)
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


def run_session(
    project: Path, settings: FixSettings, emit: Emit, inbox: Inbox | None = None
) -> Finished:
    """One fix session of ``project``: provider, work copy, test runner, then ``fix``. First,
    a warning for each setting of the project's config that was ignored."""
    for ignored in settings.provenance.ignored:
        emit(Note("warning", ignored.warning))
    python = find_python(project, settings.python)
    args = parse_test_cmd(settings.test_cmd)
    if args is None:
        raise ConfigError(
            f"--test-cmd {settings.test_cmd!r}: only pytest commands are supported "
            "(pytest ARGS or python -m pytest ARGS)"
        )
    with (
        open_provider(settings, os.environ) as provider,
        WorkCopy.create(project) as work,
        PytestRunner(work.root, python=python, args=args, timeout=settings.test_timeout) as tests,
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
            )
        )
        client = provider.client(settings.transport, model, idle_timeout=settings.idle_timeout)

        async def main() -> Finished:
            async with client:
                return await fix(
                    work, tests, client, options, emit, index_cache_for=project, inbox=inbox
                )

        return asyncio.run(main())


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
    }
