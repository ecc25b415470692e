"""What the benchmark reports about the PostgreSQL it runs against, for reading its figures.

Durability and vacuum settings change every figure. So does the state of the WAL: a cluster
that has not yet been through checkpoints has no WAL segment files waiting to be reused, so
each time the WAL fills a segment PostgreSQL creates the next one (writing and syncing 16 MB)
while holding the WAL write lock, and every commit waits. On the 2-core benchmark machine this
paused all in-flight requests for 65-79 ms at every new segment, about every 1.7 s during
claim+delete: about 1% of the requests, exactly where the p99 is read. Segments recycled by
checkpoints are written into without that cost (the same phase after a CHECKPOINT switched
segments five times and paused at none). The count of segments ready ahead of the insert
position tells which case a run measured; under a sustained load a cluster can run out of
them while a spread-out checkpoint is still in progress, so it is read at the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

# The server settings the figures depend on: durability, and whether dead rows are ever
# vacuumed (without, every run leaves the next a longer walk over dead index entries).
REPORTED_SETTINGS = ("synchronous_commit", "autovacuum")

# WAL segment files after the one being written: recycled by checkpoints (or preallocated),
# so filling the current segment costs no file creation. pg_ls_waldir() lists them; it needs
# superuser or the pg_monitor role.
READY_WAL_SEGMENTS = (
    "SELECT count(*) FROM pg_ls_waldir() "
    "WHERE name ~ '^[0-9A-F]{24}$' AND name > pg_walfile_name(pg_current_wal_insert_lsn())"
)


def libpq_url(database_url: str) -> str:
    """A libpq URL from a SQLAlchemy one (postgresql+psycopg://) or a libpq one."""
    return database_url.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgresql+psycopg_async://", "postgresql://"
    )


@dataclass(frozen=True)
class DatabaseState:
    line: str  # the settings and the WAL state, for the "database:" line
    ready_segments: int | None  # None: not allowed to look

    @property
    def creates_wal_files(self) -> bool:
        """The run will start by creating WAL files (and pausing commits for each)."""
        return self.ready_segments == 0


async def describe_database(database_url: str) -> DatabaseState:
    """The reported settings, and how many WAL segments are ready for reuse."""
    shown = []
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url)) as conn:
        for name in REPORTED_SETTINGS:
            shown.append(f"{name} {await _show(conn, name)}")
        try:
            cur = await conn.execute(READY_WAL_SEGMENTS)
            row = await cur.fetchone()
            ready: int | None = int(row[0]) if row else 0
        except psycopg.errors.InsufficientPrivilege:
            await conn.rollback()
            ready = None
        size = await _show(conn, "wal_segment_size")
    shown.append(
        f"WAL segments ready for reuse {'unknown (needs pg_monitor)' if ready is None else ready}"
        f" x {size}"
    )
    return DatabaseState(", ".join(shown), ready)


async def _show(conn: psycopg.AsyncConnection, setting: str) -> str:
    cur = await conn.execute(f"SHOW {setting}")
    row = await cur.fetchone()
    return str(row[0]) if row else "?"
