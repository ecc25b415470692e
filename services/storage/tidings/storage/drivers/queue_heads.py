"""Where each queue's oldest message may be: a lower bound for scans from the queue's head.

A queue consumed by claims leaves a long run of deleted rows at the head of its
``(queue_id, seq)`` index until VACUUM removes them: every claim then walks thousands of dead
entries before the first live one (in a 10 s claim-and-delete load, more than half of the
claim statement's buffer reads). Starting the walk at a known bound skips them.

The bound is a fact about the data, not a guess, so every replica may keep its own and none is
ever told to forget one: a statement that saw its queue's first row at sequence ``n``
proves that every row below ``n`` was deleted (or moved to a dead-letter queue) and committed.
Nothing can appear below it afterwards: a queue's sequence numbers are handed out under its row
lock by the transaction that commits them, so any row a snapshot misses (uncommitted, or
committed after it) has a higher number than every row it sees. Purging a queue keeps its
counter. A queue deleted and created again gets a new id, so a bound is kept with the id it
was learned on and applies to that id only.
"""

from __future__ import annotations

from dataclasses import dataclass

# Queues remembered per replica; emptied when full (a forgotten bound costs one long walk).
QUEUE_HEADS_LIMIT = 10_000


@dataclass(frozen=True)
class QueueHead:
    queue_id: int
    seq: int


# A queue never seen: no id matches 0, so the scan starts from sequence 0.
UNKNOWN = QueueHead(queue_id=0, seq=0)


class QueueHeads:
    """The lowest sequence number that may still exist, per queue (project, name)."""

    def __init__(self, limit: int = QUEUE_HEADS_LIMIT) -> None:
        self._limit = limit
        self._heads: dict[tuple[str, str], QueueHead] = {}

    def get(self, project: str, queue: str) -> QueueHead:
        return self._heads.get((project, queue), UNKNOWN)

    def learn(self, project: str, queue: str, queue_id: int, seq: int | None) -> None:
        """Record that no row of ``queue_id`` below ``seq`` exists any more.

        ``seq`` None (the statement saw no row at all) teaches nothing: the rows of a post
        not yet committed may still come in below the counter.
        """
        if seq is None:
            return
        key = (project, queue)
        known = self._heads.get(key)
        if known is not None and known.queue_id == queue_id and known.seq >= seq:
            return  # concurrent statements may answer out of order: never move back
        if known is None and len(self._heads) >= self._limit:
            self._heads.clear()
        self._heads[key] = QueueHead(queue_id=queue_id, seq=seq)
