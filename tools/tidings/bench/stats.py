"""Latency and throughput figures of one benchmark phase."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PhaseResult:
    name: str
    seconds: float = 0.0
    requests: int = 0
    messages: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]

    def row(self) -> str:
        rps = self.requests / self.seconds if self.seconds else 0.0
        mps = self.messages / self.seconds if self.seconds else 0.0
        return (
            f"{self.name:<28} {rps:>10.0f} {mps:>12.0f} {self.percentile(0.5) * 1000:>9.2f} "
            f"{self.percentile(0.99) * 1000:>9.2f} {self.errors:>7d}"
        )


HEADER = (
    f"{'operation':<28} {'requests/s':>10} {'messages/s':>12} {'p50 ms':>9} {'p99 ms':>9} "
    f"{'errors':>7}"
)
