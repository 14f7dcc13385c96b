"""A member directory: search, filters and mailing lists."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    active: bool = True
    tags: frozenset[str] = field(default_factory=frozenset)


class Directory:
    def __init__(self, members: list[Member]) -> None:
        self.members = list(members)

    def find(self, text: str) -> list[Member]:
        needle = text.lower()
        return [m for m in self.members if needle in m.name.lower()]

    def tagged(self, tag: str) -> list[Member]:
        return [m for m in self.members if tag in m.tags]

    def mailing_list(self, tag: str | None = None) -> list[str]:
        """The emails of active members (with ``tag``, if given), sorted."""
        chosen = self.tagged(tag) if tag else self.members
        emails = []
        for member in chosen:
            if not member.active:
                emails.append(member.email.lower())
        return sorted(emails)

    def deactivate(self, name: str) -> None:
        self.members = [
            Member(m.name, m.email, False, m.tags) if m.name == name else m for m in self.members
        ]
