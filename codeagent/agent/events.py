"""``AgentEvent``: everything a fix session does, as one typed stream.

The headless reporter prints these as progress lines (or JSON lines with ``--json``), the
trajectory file keeps them, ``codeagent replay`` reads them back, and the TUI renders them. Each
event is a frozen value with a stable ``kind``; ``to_json`` / ``event_from_json`` are the schema
(documented in the README), version ``SCHEMA``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any, ClassVar, TypeVar, get_args

from codeagent.transport.stats import TurnStats

SCHEMA = 1


@dataclass(frozen=True, slots=True)
class SessionStarted:
    kind: ClassVar[str] = "session_started"
    repo: str
    work_copy: str
    strategy: str
    model: str
    provider: str
    """``embedded``, ``openai`` or the base URL."""
    python: str
    test_command: str
    budget: dict[str, float] = field(default_factory=dict)
    """``turns``, ``seconds``, ``tokens`` (0: none)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Where each setting came from: setting name -> ``default``, ``user config PATH``,
    ``project config PATH``, ``environment VAR`` or ``flag``."""
    sandbox: str = ""
    """The sandbox test runs use (``bubblewrap``, or ``none: why``); empty: not said."""

    def settings_by_source(self) -> dict[str, list[str]]:
        """The settings that came from a file or the environment (not a default, not a flag),
        by source, in ``sources`` order: what a person watching should know was chosen."""
        grouped: dict[str, list[str]] = {}
        for name, source in self.sources.items():
            if source not in ("default", "flag"):
                grouped.setdefault(source, []).append(name)
        return grouped


@dataclass(frozen=True, slots=True)
class TestsRun:
    kind: ClassVar[str] = "tests_run"
    purpose: str
    """``initial`` (with coverage), ``candidate`` (the failing tests), ``suite``, ``tool``."""
    passed: int
    failed: int
    skipped: int
    seconds: float
    failing: tuple[str, ...] = ()
    message: str = ""
    """The first failure's message, trimmed."""
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class SuspectLine:
    path: str
    line: int
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Localised:
    kind: ClassVar[str] = "localised"
    suspects: tuple[SuspectLine, ...]
    seconds: float


@dataclass(frozen=True, slots=True)
class ContextBuilt:
    kind: ClassVar[str] = "context_built"
    map_tokens: int
    """Tokens of the repo map in the static prefix (the model's tokenizer, or an estimate)."""
    files: int
    """Files the index holds."""
    functions: tuple[str, ...]
    """The suspect functions shown to the model, as ``path:qualname``."""


@dataclass(frozen=True, slots=True)
class TurnStarted:
    kind: ClassVar[str] = "turn_started"
    index: int
    purpose: str
    """``warmup``, ``propose``, ``rate``, ``tools``."""


@dataclass(frozen=True, slots=True)
class ModelText:
    kind: ClassVar[str] = "model_text"
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ModelDelta:
    """A piece of the model's reply as it streams (for interfaces; not written to JSON lines,
    where ``model_text`` carries the whole reply)."""

    kind: ClassVar[str] = "model_delta"
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class UserInput:
    kind: ClassVar[str] = "user_input"
    text: str
    """An instruction the user sent mid-session; it goes to the model with the next turn."""


@dataclass(frozen=True, slots=True)
class TurnFinished:
    kind: ClassVar[str] = "turn_finished"
    stats: TurnStats


@dataclass(frozen=True, slots=True)
class ToolCalled:
    kind: ClassVar[str] = "tool_called"
    name: str
    arguments: str
    ok: bool
    summary: str


@dataclass(frozen=True, slots=True)
class CandidateProposed:
    kind: ClassVar[str] = "candidate_proposed"
    id: int
    source: str
    """``model`` or a repair operator's name."""
    path: str
    line: int
    description: str
    diff: str


@dataclass(frozen=True, slots=True)
class CandidateTested:
    kind: ClassVar[str] = "candidate_tested"
    id: int
    outcome: str
    """``fixed``, ``failing`` (the target tests still fail), ``regressed`` (they pass, others
    broke), ``rejected`` (edits tests, escapes the work copy, does not apply), ``timeout``."""
    detail: str
    seconds: float


@dataclass(frozen=True, slots=True)
class FixFound:
    kind: ClassVar[str] = "fix_found"
    id: int
    description: str
    diff: str


@dataclass(frozen=True, slots=True)
class Note:
    kind: ClassVar[str] = "note"
    level: str
    """``info`` or ``warning``."""
    message: str


@dataclass(frozen=True, slots=True)
class Finished:
    kind: ClassVar[str] = "finished"
    outcome: str
    """``fixed``, ``nothing_to_fix``, ``not_fixed``, ``error``."""
    exit_code: int
    reason: str
    patch: str
    turns: int
    seconds: float
    candidates: int
    bytes_sent: int
    full_resend_bytes: int
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    model_seconds: float = 0.0
    """Wall time inside model turns."""
    test_seconds: float = 0.0
    """Wall time inside test runs."""
    setup_seconds: float = 0.0
    """The agent's one-time work before the first turn: localising, indexing, the context."""

    @property
    def agent_seconds(self) -> float:
        """The agent's own work: everything but the model and the tests."""
        return max(0.0, self.seconds - self.model_seconds - self.test_seconds)

    @property
    def per_turn_seconds(self) -> float:
        """The agent's own work per turn, after its one-time setup."""
        return max(0.0, self.agent_seconds - self.setup_seconds) / max(1, self.turns)


AgentEvent = (
    SessionStarted
    | TestsRun
    | Localised
    | ContextBuilt
    | TurnStarted
    | ModelText
    | ModelDelta
    | UserInput
    | TurnFinished
    | ToolCalled
    | CandidateProposed
    | CandidateTested
    | FixFound
    | Note
    | Finished
)

_KINDS: dict[str, type[Any]] = {cls.kind: cls for cls in get_args(AgentEvent)}
"""Every event class by its ``kind``: read off the union, so a new event cannot be missed."""


def event_to_json(event: AgentEvent) -> dict[str, Any]:
    """``{"event": kind, "schema": SCHEMA, ...fields}``; tuples become lists, and text is
    ``printable`` (so the JSON can always be written as UTF-8)."""
    return {"event": event.kind, "schema": SCHEMA, **asdict(printable(event))}


E = TypeVar("E")


def printable(event: E) -> E:
    """``event`` with every lone surrogate in its text (a byte that was not UTF-8, in a path or
    a file decoded with ``surrogateescape``) replaced by U+FFFD: what may be shown or written as
    UTF-8. The original keeps the exact bytes (a patch is written from it, not from this)."""
    return _printable(event)  # type: ignore[no-any-return]


_SURROGATE = re.compile("[\ud800-\udfff]")


def printable_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return printable_text(value)
    if isinstance(value, tuple):
        items = tuple(_printable(item) for item in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        pairs = [(_printable(k), _printable(v)) for k, v in value.items()]
        same = all(k is a and v is b for (k, v), (a, b) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _printable(getattr(value, f.name)) for f in fields(value)}
        if all(changes[name] is getattr(value, name) for name in changes):
            return value
        return replace(value, **changes)
    return value


def event_from_json(obj: dict[str, Any]) -> AgentEvent:
    """The event ``event_to_json`` wrote; raises ``ValueError`` for anything else."""
    cls = _KINDS.get(str(obj.get("event")))
    if cls is None:
        raise ValueError(f"unknown event {obj.get('event')!r}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in obj:
            continue
        value = obj[f.name]
        if cls is TurnFinished and f.name == "stats":
            value = TurnStats(**value)
        elif cls is Localised and f.name == "suspects":
            value = tuple(
                SuspectLine(s["path"], s["line"], s["score"], tuple(s["reasons"])) for s in value
            )
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    try:
        return cls(**values)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ValueError(f"malformed {cls.kind} event: {exc}") from None
