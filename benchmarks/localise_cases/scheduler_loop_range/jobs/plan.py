"""Order jobs by priority and deadline, and pack them into time slots."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    minutes: int
    priority: int = 0


def ordered(jobs: list[Job]) -> list[Job]:
    return sorted(jobs, key=lambda j: (-j.priority, j.name))


def pack(jobs: list[Job], slot_minutes: int) -> list[list[str]]:
    """Fill slots in order; a job that does not fit the current slot starts a new one."""
    slots: list[list[str]] = [[]]
    used = 0
    queue = ordered(jobs)
    for index in range(1, len(queue)):
        job = queue[index]
        if job.minutes > slot_minutes:
            raise ValueError(f"{job.name} is longer than a slot")
        if used + job.minutes > slot_minutes:
            slots.append([])
            used = 0
        slots[-1].append(job.name)
        used += job.minutes
    return slots


def total_minutes(jobs: list[Job]) -> int:
    return sum(j.minutes for j in jobs)
