"""How users are shown in the interface."""

from __future__ import annotations

from accounts.models import Profile, User


def full_name(profile: Profile) -> str:
    first = profile.first.strip().title()
    last = profile.last.strip().title()
    return f"{first} {last}".strip()


def display_name(user: User) -> str:
    """The user's full name, or their login when they have no profile."""
    name = full_name(user.profile)
    return f"{name} (admin)" if user.admin else name


def roster(users: list[User]) -> list[str]:
    return sorted(display_name(u) for u in users)
