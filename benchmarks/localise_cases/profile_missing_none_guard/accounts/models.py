"""Users and their optional profiles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    first: str
    last: str


@dataclass(frozen=True)
class User:
    login: str
    profile: Profile | None = None
    admin: bool = False
