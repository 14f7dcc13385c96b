"""The ``guided`` strategy: a repair engine in which the model is one source of candidates.

Measured here, the bundled 135M model fixes almost no real bug on its own, so the engine does
not depend on it: repair operators generate small edits at the ranked suspect lines, and the
tests decide. Each round is one turn on the connection: the model is asked narrowly for one
suspect line (its reply is a candidate too), and the round's outcomes go back to it as new
items, so its next proposal sees what failed. Batches grow each round (cheap candidates first),
the first candidate that fixes the targets without breaking a passing test wins, unless others
pass within a short extra budget: then the smallest wins, the model's rating breaking ties. An
edit that fixes some targets and breaks nothing opens a branch of the search (``search``), so a
fix of two edits is found one edit at a time.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Iterator, Mapping, Sequence

from codeagent.agent.bench import Bench
from codeagent.agent.candidate import Candidate
from codeagent.agent.context import code_of_test, failure_text, suspect_code
from codeagent.agent.events import CandidateProposed, CandidateTested, FixFound, Note
from codeagent.agent.outcome import BudgetExceeded, Fixed, GaveUp
from codeagent.agent.repair import Hint, candidates
from codeagent.agent.search import Search, Win
from codeagent.agent.suspects import Suspect
from codeagent.agent.validate import Verdict
from codeagent.errors import ContextLengthExceeded
from codeagent.protocol.items import Item, user_message
from codeagent.protocol.response import Response
from codeagent.tools.patch import unified_diff

FIRST_BATCH = 24
MAX_BATCH = 768
"""Batches double each round: the model's turns cost seconds, a candidate tens of ms."""
SHOWN_TRIED = 4
"""Outcomes of a round told to the model (the rest are counted)."""


async def run_guided(bench: Bench) -> None:
    """Raises ``Fixed`` with the fix written in the work copy, or ``GaveUp`` /
    ``BudgetExceeded``."""
    await _Engine(bench).run()


class _Engine:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.prompts = bench.prompts("guided")
        self.asked: set[tuple[str, int]] = set()
        self.ids = 0
        self.ids_of: dict[Candidate, int] = {}
        self.hint = Hint.from_failure(bench.baseline.failures[0].message)
        self.sources: dict[str, str] = bench.sources
        """The texts of the branch being tried (what candidates are diffed against)."""

    async def run(self) -> None:
        bench = self.bench
        bench.conversation.configure(self.prompts.text("instructions"))
        await bench.conversation.warmup([user_message(self._context())])
        search = Search(bench.files, bench.validator, bench.sources, self._operator_candidates)
        summary: list[Item] = []
        round_no = 0
        while True:
            round_no += 1
            branch = search.next_branch()
            sources = search.sources(branch) if branch is not None else bench.sources
            proposed = await self._ask_model(summary, sources)
            if branch is None:
                if not proposed:
                    raise GaveUp(f"no candidate left after {bench.usage.candidates} tried")
                branch = search.root
            size = min(MAX_BATCH, FIRST_BATCH * 2 ** (round_no - 1))
            batch = search.batch(branch, size, proposed)
            self.sources = search.sources(branch)
            results, wins = await asyncio.to_thread(  # off the loop: see session.fix
                search.validate, branch, batch, self._check, bench.conversation.check_budget
            )
            if wins:
                win = await self._rate(wins)
                for path, text in win.changes.items():
                    bench.files.write(path, text)
                bench.emit(
                    FixFound(self.ids_of[win.candidate], win.description, bench.files.diff())
                )
                raise Fixed(win.description)
            summary = [user_message(self._round_text(results))] if results else []

    # --- the model's share ------------------------------------------------------------

    def _context(self) -> str:
        bench = self.bench
        case = bench.baseline.failures[0]
        code = suspect_code(bench.suspects, bench.sources, max_lines=bench.options.code_lines)
        test = code_of_test(case, bench.sources)
        failure = failure_text(case) + (f"\n\n{test}" if test else "")
        repo_map = self.prompts.render("repo_map", map=bench.repo_map) if bench.repo_map else ""
        return self.prompts.render(
            "context", test=case.nodeid, failure=failure, code=code.text, repo_map=repo_map
        )

    async def _ask_model(self, summary: list[Item], sources: dict[str, str]) -> list[Candidate]:
        """One turn: the round's outcomes, and a narrow question about the next suspect line."""
        bench = self.bench
        suspect = next(
            (s for s in bench.suspects if (s.path, s.line) not in self.asked and _line(sources, s)),
            None,
        )
        if suspect is None:
            if summary:  # nothing left to ask, but the model still hears how the round went
                await bench.conversation.turn(summary, "report", max_output_tokens=1)
            return []
        self.asked.add((suspect.path, suspect.line))
        text = _line(sources, suspect).strip()
        question = self.prompts.render("propose", line=suspect.line, path=suspect.path, text=text)
        ask = [*summary, user_message(question)]
        try:
            response = await self._propose(ask)
        except ContextLengthExceeded:
            # The rounds filled the model's window: start over from the static context (the
            # engine keeps what was tried; the model only loses the old rounds' outcomes).
            bench.emit(Note("info", "the model's context is full: starting a fresh chain"))
            bench.conversation.client.forget()
            await bench.conversation.warmup([user_message(self._context())])
            response = await self._propose([user_message(question)])
        found = candidate_from_reply(response.output_text, suspect, sources[suspect.path])
        return [found] if found is not None else []

    async def _propose(self, items: list[Item]) -> Response:
        options = self.bench.options
        return await self.bench.conversation.turn(
            items,
            "propose",
            temperature=options.temperature,
            max_output_tokens=options.reply_tokens,
        )

    def _round_text(self, results: Sequence[tuple[Candidate, Verdict]]) -> str:
        shown = [f"- {c.description}: {v.outcome} ({v.detail})" for c, v in results[:SHOWN_TRIED]]
        if len(results) > SHOWN_TRIED:
            shown.append(f"- and {len(results) - SHOWN_TRIED} more")
        return self.prompts.render("round", tried="\n".join(shown))

    async def _rate(self, wins: list[Win]) -> Win:
        """The smallest fix; among equally small ones, the one the model rates best."""
        smallest = min(w.candidate.size for w in wins)
        best = [w for w in wins if w.candidate.size == smallest]
        if len(best) == 1:
            return best[0]
        choices = "\n".join(f"{i}. {w.description}" for i, w in enumerate(best, 1))
        try:
            self.bench.conversation.check_budget()
        except BudgetExceeded:  # no turn left to ask: the first of them
            return best[0]
        reply = await self.bench.conversation.turn(
            [user_message(self.prompts.render("rate", choices=choices))],
            "rate",
            temperature=0.0,
            max_output_tokens=4,
        )
        number = re.search(r"\d+", reply.output_text)
        pick = int(number.group()) if number else 1
        return best[pick - 1] if 1 <= pick <= len(best) else best[0]

    # --- the engine's share ------------------------------------------------------------

    def _operator_candidates(
        self, sources: Mapping[str, str], tried: set[tuple[str, str]]
    ) -> Iterator[Candidate]:
        """Every operator's candidates, suspect line by suspect line (best first), made only
        as a batch asks for them: most fixes are found long before the last line."""
        for suspect in self.bench.suspects:
            source = sources.get(suspect.path)
            if source is None:
                continue
            for cand in candidates(suspect.path, source, [suspect], hint=self.hint):
                if (cand.path, cand.new_source) not in tried:
                    yield cand

    def _check(self, cand: Candidate) -> Verdict:
        bench = self.bench
        self.ids += 1
        self.ids_of[cand] = self.ids
        original = self.sources.get(cand.path, "")  # the branch's text, not the first one
        bench.emit(
            CandidateProposed(
                self.ids,
                cand.operator,
                cand.path,
                cand.line,
                cand.description,
                unified_diff(cand.path, original, cand.new_source),
            )
        )
        verdict = bench.validator.check(cand)
        bench.usage.candidates += 1
        bench.emit(CandidateTested(self.ids, verdict.outcome, verdict.detail, verdict.seconds))
        return verdict


def _line(sources: Mapping[str, str], suspect: Suspect) -> str:
    lines = sources.get(suspect.path, "").splitlines()
    return lines[suspect.line - 1] if 0 < suspect.line <= len(lines) else ""


def candidate_from_reply(reply: str, suspect: Suspect, source: str) -> Candidate | None:
    """The model's corrected line as a candidate: the suspect line replaced by the first line
    of the reply (a fenced block's first) that changes it and parses, its indentation kept;
    ``None`` if there is none. Small models often lead with prose ("The corrected line is:"),
    which never parses, so the code after it is found."""
    lines = source.splitlines(keepends=True)
    if not 0 < suspect.line <= len(lines):
        return None
    old = lines[suspect.line - 1]
    indent = old[: len(old) - len(old.lstrip())]
    ending = old[len(old.rstrip("\r\n")) :] or "\n"
    for code in _code_lines(reply):
        new = indent + code.strip() + ending
        if new.strip() == old.strip():
            continue
        text = "".join([*lines[: suspect.line - 1], new, *lines[suspect.line :]])
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        changed = len(set(re.findall(r"\w+|\S", new)) ^ set(re.findall(r"\w+|\S", old)))
        return Candidate(
            suspect.path,
            text,
            suspect.line,
            "model",
            f"line {suspect.line}: `{old.strip()}` -> `{code.strip()}`",
            max(1, changed),
        )
    return None


MAX_REPLY_LINES = 4
"""How many non-blank lines of a reply are tried as the corrected line."""


def _code_lines(reply: str) -> list[str]:
    fenced = re.search(r"```[\w+-]*\n(.*?)(?:```|$)", reply, re.S)
    body = fenced.group(1) if fenced else reply
    lines = [line for line in body.splitlines() if line.strip()]
    return [line for line in lines if not line.strip().startswith("#")][:MAX_REPLY_LINES]
