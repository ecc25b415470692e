"""Ids of messages, claims and outbox events: 32 hex digits, ordered by creation time.

The first 12 digits are the creation time in milliseconds, the other 20 are random (80 bits,
so ids stay unguessable). Time order is what the primary keys need: a random id (uuid4) puts
every insert on a random leaf of an ever larger index, so a busy table touches thousands of
index pages a second and, after each checkpoint, writes a full image of each one to the WAL.
Ids that grow with time land on the index's rightmost pages, which stay in memory. Zaqar's
ids (MongoDB ObjectIds) start with their creation time for the same reason.
"""

from __future__ import annotations

import os
import time


def new_id() -> str:
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"
