"""Fault plans: which requests misbehave, how, and how often.

A plan is a list of faults. Each names an endpoint pattern (fnmatch on the canonical endpoint,
e.g. "salesentry/SalesEntries", "crm/*", "oauth2/token"), optionally a method and a division,
a kind, and `count` (fires that many times) and/or `probability` (fires on that share of the
matching requests, drawn from the plan's seed). `skip` lets the first N matches through.
"""

from __future__ import annotations

import enum
import fnmatch
import random
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FaultKind(enum.StrEnum):
    LATENCY = "latency"
    ERROR_BEFORE_COMMIT = "error_before_commit"
    ERROR_AFTER_COMMIT = "error_after_commit"
    COMMIT_THEN_HANG = "commit_then_hang"
    #: Taken, then committed `seconds` later whatever the client does (a proxy held it).
    COMMIT_LATE = "commit_late"
    CONNECTION_RESET = "connection_reset"
    RATE_LIMIT_STORM = "rate_limit_storm"
    REVOKE_TOKENS = "revoke_tokens"


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = "*"
    method: str | None = None
    division: int | None = None
    kind: FaultKind
    count: int | None = Field(default=None, ge=1)
    probability: float | None = Field(default=None, gt=0, le=1)
    skip: int = Field(default=0, ge=0)
    # latency: delay in milliseconds before the request is handled.
    ms: int = Field(default=0, ge=0, le=600_000)
    # error_before_commit / error_after_commit: the 5xx to answer.
    status: int = Field(default=503, ge=500, le=599)
    # commit_then_hang: how long to hold the answer back (over the network); commit_late: how
    # long after it was received the request is committed.
    seconds: float = Field(default=120.0, gt=0, le=3600)
    # connection_reset: drop the connection after the request was handled (committed).
    after_commit: bool = False

    @model_validator(mode="after")
    def _needs_a_rate(self) -> Fault:
        if self.count is None and self.probability is None:
            raise ValueError("a fault needs a count, a probability, or both")
        if self.kind is FaultKind.LATENCY and self.ms == 0:
            raise ValueError("a latency fault needs ms > 0")
        return self

    def matches(self, endpoint: str, method: str, division: int | None) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.division is not None and self.division != division:
            return False
        return fnmatch.fnmatchcase(endpoint.lower(), self.endpoint.lower())


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    faults: list[Fault]
    seed: int = 0


@dataclass
class ActiveFault:
    fault: Fault
    remaining: int | None
    seen: int = 0
    fired: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            **self.fault.model_dump(mode="json", exclude_defaults=True),
            "kind": self.fault.kind.value,
            "remaining": self.remaining,
            "seen": self.seen,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class Decision:
    latency_ms: int = 0
    fault: Fault | None = None


@dataclass
class FaultInjector:
    active: list[ActiveFault] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def load(self, plan: FaultPlan) -> None:
        self.active = [ActiveFault(fault, fault.count) for fault in plan.faults]
        self.rng = random.Random(plan.seed)

    def clear(self) -> None:
        self.active = []

    def decide(self, endpoint: str, method: str, division: int | None) -> Decision:
        """Every matching latency adds up; the first other fault that fires wins."""
        latency = 0
        chosen: Fault | None = None
        for active in self.active:
            fault = active.fault
            if chosen is not None and fault.kind is not FaultKind.LATENCY:
                continue
            if not fault.matches(endpoint, method, division) or active.remaining == 0:
                continue
            active.seen += 1
            if active.seen <= fault.skip:
                continue
            if fault.probability is not None and self.rng.random() >= fault.probability:
                continue
            active.fired += 1
            if active.remaining is not None:
                active.remaining -= 1
            if fault.kind is FaultKind.LATENCY:
                latency += fault.ms
            else:
                chosen = fault
        return Decision(latency, chosen)

    def snapshot(self) -> list[dict[str, object]]:
        return [active.as_dict() for active in self.active]
