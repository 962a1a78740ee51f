"""The call log: requests per endpoint, division, method and status, for tests and benchmarks."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

# Status recorded when the client got no HTTP answer (connection reset, hang).
NO_ANSWER = 0

CallKey = tuple[str, int | None, str, int]  # endpoint, division, method, status


@dataclass
class CallLog:
    counts: collections.Counter[CallKey] = field(default_factory=collections.Counter)
    faults: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(self, endpoint: str, division: int | None, method: str, status: int) -> None:
        self.counts[(endpoint, division, method, status)] += 1

    def record_fault(self, kind: str) -> None:
        self.faults[kind] += 1

    def clear(self) -> None:
        self.counts.clear()
        self.faults.clear()

    def count(
        self,
        endpoint: str | None = None,
        *,
        method: str | None = None,
        status: int | None = None,
        division: int | None = None,
    ) -> int:
        """Calls matching every given criterion."""
        return sum(
            n
            for (e, d, m, s), n in self.counts.items()
            if (endpoint is None or e == endpoint)
            and (method is None or m == method)
            and (status is None or s == status)
            and (division is None or d == division)
        )

    def snapshot(self) -> dict[str, object]:
        by_status: collections.Counter[str] = collections.Counter()
        by_method: collections.Counter[str] = collections.Counter()
        by_endpoint: collections.Counter[str] = collections.Counter()
        for (endpoint, _, method, status), n in self.counts.items():
            by_status[str(status)] += n
            by_method[method] += n
            by_endpoint[endpoint] += n
        rows = [
            {"endpoint": e, "division": d, "method": m, "status": s, "count": n}
            for (e, d, m, s), n in sorted(
                self.counts.items(), key=lambda item: (item[0][0], item[0][1] or 0, *item[0][2:])
            )
        ]
        return {
            "total": sum(self.counts.values()),
            "by_status": dict(by_status),
            "by_method": dict(by_method),
            "by_endpoint": dict(by_endpoint),
            "faults": dict(self.faults),
            "calls": rows,
        }
