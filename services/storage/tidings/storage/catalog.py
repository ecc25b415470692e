"""SQL over the pool catalog tables (the last tables of :mod:`tidings.storage.tables`).

Admin writes are rare; placements are read once per queue and replica, then cached by the
router (:mod:`tidings.storage.pools`). A placement is written with "insert unless present" and
read back, so replicas placing the same new queue at once all end up with the first row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tidings.common import schemas as s
from tidings.storage.tables import flavors, placements, pools

# Marks "no placement row" apart from a row whose pool is NULL (the default database).
UNPLACED = object()


def _pool(row: sa.Row[tuple[str, str, int, str | None, str]]) -> s.Pool:
    return s.Pool(
        name=row.name, uri=row.uri, weight=row.weight, flavor=row.flavor,
        options=json.loads(row.options),
    )  # fmt: skip


class Catalog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ------------------------------------------------------------ pools

    async def pools(self, marker: str | None = None, limit: int | None = None) -> list[s.Pool]:
        query = sa.select(pools).order_by(pools.c.name)
        if marker is not None:
            query = query.where(pools.c.name > marker)
        if limit is not None:
            query = query.limit(limit)
        async with self._engine.connect() as conn:
            return [_pool(row) for row in (await conn.execute(query)).all()]

    async def pool(self, name: str) -> s.Pool | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(pools).where(pools.c.name == name))).first()
        return _pool(row) if row is not None else None

    async def pool_using(self, uri: str) -> str | None:
        async with self._engine.connect() as conn:
            return (
                await conn.execute(sa.select(pools.c.name).where(pools.c.uri == uri))
            ).scalar_one_or_none()

    async def save_pool(self, pool: s.Pool) -> bool:
        """Insert or overwrite; True when the pool is new."""
        values = {
            "uri": pool.uri, "weight": pool.weight, "flavor": pool.flavor,
            "options": json.dumps(pool.options),
        }  # fmt: skip
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                pools.update().where(pools.c.name == pool.name).values(**values)
            )
            if changed.rowcount:
                return False
            await conn.execute(pools.insert().values(name=pool.name, **values))
            return True

    async def delete_pool(self, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(pools.delete().where(pools.c.name == name))

    async def pools_of(self, flavor: str) -> list[str]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(pools.c.name).where(pools.c.flavor == flavor).order_by(pools.c.name)
            )
            return list(rows.scalars())

    async def queues_in(self, pool: str) -> int:
        async with self._engine.connect() as conn:
            count = await conn.execute(
                sa.select(sa.func.count()).select_from(placements).where(placements.c.pool == pool)
            )
            return int(count.scalar_one())

    # ------------------------------------------------------------ flavors

    async def flavor_names(self, marker: str | None, limit: int) -> list[str]:
        query = sa.select(flavors.c.name).order_by(flavors.c.name).limit(limit)
        if marker is not None:
            query = query.where(flavors.c.name > marker)
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def flavor_exists(self, name: str) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.execute(sa.select(flavors.c.name).where(flavors.c.name == name))
            return found.first() is not None

    async def save_flavor(self, name: str, pool_list: Sequence[str]) -> None:
        """Create or overwrite a flavor: exactly the listed pools belong to it afterwards."""
        async with self._engine.begin() as conn:
            exists = await conn.execute(sa.select(flavors.c.name).where(flavors.c.name == name))
            if exists.first() is None:
                await conn.execute(flavors.insert().values(name=name))
            await conn.execute(
                pools.update()
                .where(pools.c.flavor == name, pools.c.name.not_in(list(pool_list)))
                .values(flavor=None)
            )
            await conn.execute(
                pools.update().where(pools.c.name.in_(list(pool_list))).values(flavor=name)
            )

    async def delete_flavor(self, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(pools.update().where(pools.c.flavor == name).values(flavor=None))
            await conn.execute(flavors.delete().where(flavors.c.name == name))

    # ------------------------------------------------------------ placements

    async def placement(self, project: str, queue: str) -> str | object | None:
        """The pool name, None for the default database, or :data:`UNPLACED`."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(placements.c.pool).where(
                        placements.c.project == project, placements.c.queue == queue
                    )
                )
            ).first()
        return UNPLACED if row is None else row.pool

    async def place(self, project: str, queue: str, pool: str | None) -> str | None:
        """Place the queue unless a row exists already; return where it really is."""
        async with self._engine.begin() as conn:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        placements.insert().values(
                            project=project, queue=queue, pool=pool, placed=time.time()
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # another replica placed it first; its choice stands
            row = await conn.execute(
                sa.select(placements.c.pool).where(
                    placements.c.project == project, placements.c.queue == queue
                )
            )
            found: str | None = row.scalar_one()
            return found
