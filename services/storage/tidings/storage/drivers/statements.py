"""The hot statements, built once with bind parameters and reused for every request.

Building a SQLAlchemy statement (coercing every clause, proxying the columns of each CTE) costs
far more than executing a cached one: about a millisecond for the list query. So the
statements every post, list, claim and delete runs are built here once per shape, with bind
parameters for every value, and executed with a parameter dict. The shapes with optional
filters are cached per combination of flags.

Parameter names carry a ``p_`` prefix (an UPDATE reserves the bare column names):
``p_project``, ``p_queue``, ``p_now``, ``p_limit`` and the ones each statement lists.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa

from tidings.storage.tables import claims, messages, outbox, queues

# A queue whose metadata names this key may dead-letter: its claims take the general path,
# which looks at each message's claim count.
DEAD_LETTER_MARK = '"_max_claim_count"'

_now: sa.BindParameter[float] = sa.bindparam("p_now", type_=sa.Double())
_named = sa.and_(
    queues.c.project == sa.bindparam("p_project"), queues.c.name == sa.bindparam("p_queue")
)
_queue_id = sa.select(queues.c.id).where(_named).scalar_subquery()


def alive(now: Any) -> sa.ColumnElement[bool]:
    """The message has not expired, written so that no planner picks the expiry index for it.

    ``expires > now`` holds for nearly every row of a busy table, yet PostgreSQL cannot see
    that when the queue id comes from a subquery: it then ANDs a bitmap of the whole expiry
    index with the queue's rows and sorts them (17 ms for a 15k-message queue instead of
    0.2 ms for walking the queue's (queue_id, seq) index up to the page size). The ``+ 0``
    leaves the expiry index to the sweeper, the one query it serves.
    """
    not_expired: sa.ColumnElement[bool] = messages.c.expires + sa.literal_column("0") > now
    return not_expired


def owned_by_queue(queue_id: Any) -> sa.ColumnElement[bool]:
    """The message belongs to the queue: a check for statements that find messages by id.

    Given ids, the primary key finds the rows; used as an index condition too, the queue id
    (from a subquery, so unknown to the planner) made PostgreSQL AND a bitmap of the whole
    queue with the ids' (1.3 ms for a 22k-message queue instead of 0.1 ms).
    """
    belongs: sa.ColumnElement[bool] = messages.c.queue_id + sa.literal_column("0") == queue_id
    return belongs


def unclaimed(now: Any) -> sa.ColumnElement[bool]:
    """No live claim holds the message (a stale claim id may remain after expiry)."""
    return sa.or_(messages.c.claim_id.is_(None), messages.c.claim_expires <= now)


def hold_values(claim_id: Any, ttl: Any, grace: Any, claim_expires: Any) -> dict[str, Any]:
    """Point messages at the claim and keep them alive until the claim ends + grace."""
    dies_first = messages.c.expires < claim_expires
    return {
        "claim_id": claim_id,
        "claim_expires": claim_expires,
        "expires": sa.case((dies_first, claim_expires + grace), else_=messages.c.expires),
        "ttl": sa.case((dies_first, ttl + grace), else_=messages.c.ttl),
    }


# The queue's reserved-metadata view, by name.
QUEUE_BY_NAME = sa.select(queues.c.id, queues.c.name, queues.c.metadata, queues.c.created).where(
    _named
)

# Reserve ``p_count`` sequence numbers; the row lock it takes orders the queue's posts.
BUMP_SEQUENCE = (
    queues.update()
    .where(_named)
    .values(last_seq=queues.c.last_seq + sa.bindparam("p_count", type_=sa.BigInteger()))
    .returning(queues.c.id, queues.c.name, queues.c.metadata, queues.c.created, queues.c.last_seq)
)

# Give back ``p_count`` numbers reserved by posts that were then refused (``p_queue_id``).
GIVE_BACK_SEQUENCE = (
    queues.update()
    .where(queues.c.id == sa.bindparam("p_queue_id", type_=sa.BigInteger()))
    .values(last_seq=queues.c.last_seq - sa.bindparam("p_count", type_=sa.BigInteger()))
)

_MESSAGE_COLUMNS = (
    "id", "queue_id", "seq", "body", "encrypted", "checksum", "client_id", "ttl", "created",
    "expires", "visible_at", "claim_count",
)  # fmt: skip
# One row per message, its values under ``p_<column>`` (run with a list of rows).
INSERT_MESSAGES = messages.insert().values(
    {name: sa.bindparam(f"p_{name}", type_=messages.c[name].type) for name in _MESSAGE_COLUMNS}
)
# One row per event: ``p_event_id``, ``p_subject``, ``p_payload``, ``p_created``.
INSERT_EVENTS = (
    outbox.insert()
    .inline()  # no RETURNING of the new ids: nobody reads them
    .values(
        {
            name: sa.bindparam(f"p_{name}", type_=outbox.c[name].type)
            for name in ("event_id", "subject", "payload", "created")
        }
    )
)
DELETE_EVENTS = outbox.delete().where(
    outbox.c.event_id.in_(sa.bindparam("p_event_ids", expanding=True))
)

# Messages by id (``p_ids``), live ones only, of the named queue.
MESSAGES_BY_ID = sa.select(messages).where(
    owned_by_queue(_queue_id),
    messages.c.id.in_(sa.bindparam("p_ids", expanding=True)),
    alive(_now),
)

# Delete messages by id (``p_ids``) of the named queue, whatever their claims.
DELETE_MESSAGES_BY_ID = messages.delete().where(
    owned_by_queue(_queue_id), messages.c.id.in_(sa.bindparam("p_ids", expanding=True))
)


@cache
def message_page(
    *, after_marker: bool, echo: bool, include_claimed: bool, include_delayed: bool
) -> sa.Select[Any]:
    """The queue's metadata joined to one page of its messages (none: the queue is missing).

    Parameters: ``p_marker`` (when ``after_marker``), ``p_client_id`` (unless ``echo``). On a
    queue that is not delayed ``visible_at`` is the creation time, so the delay filter can
    apply to every queue.
    """
    queue = sa.select(queues.c.metadata).where(_named).cte("queue")
    query = sa.select(messages).where(messages.c.queue_id == _queue_id, alive(_now))
    if after_marker:
        query = query.where(messages.c.seq > sa.bindparam("p_marker", type_=sa.BigInteger()))
    if not echo:
        query = query.where(messages.c.client_id != sa.bindparam("p_client_id"))
    if not include_claimed:
        query = query.where(unclaimed(_now))
    if not include_delayed:
        query = query.where(messages.c.visible_at <= _now)
    page = (
        query.order_by(messages.c.seq)
        .limit(sa.bindparam("p_limit", type_=sa.Integer()))
        .cte("page")
    )
    return sa.select(queue.c.metadata, page).select_from(queue.outerjoin(page, sa.true()))


@cache
def claim_in_one_statement() -> sa.Select[Any]:
    """Find the queue, pick, hold and record a claim: one statement (PostgreSQL's DML CTEs).

    Parameters: ``p_claim_id``, ``p_ttl``, ``p_grace``, ``p_claim_expires``, and the bound of
    the queue's head (see :mod:`queue_heads`): ``p_head_queue_id``, ``p_head_seq``. Answers the
    queue's metadata, its id and the sequence number of its first row (``head_queue_id``,
    ``head_seq``: the next bound) joined to the held messages; no row: no such queue; one row
    without a message: nothing to claim, or a queue that may dead-letter (its metadata holds
    :data:`DEAD_LETTER_MARK`), which this statement leaves alone.
    """
    claim_id = sa.bindparam("p_claim_id", type_=sa.String())
    ttl = sa.bindparam("p_ttl", type_=sa.Integer())
    grace = sa.bindparam("p_grace", type_=sa.Integer())
    expires: sa.BindParameter[float] = sa.bindparam("p_claim_expires", type_=sa.Double())
    queue = sa.select(queues.c.metadata).where(_named).cte("queue")
    claimable_queue = (
        sa.select(queues.c.id)
        .where(_named, sa.not_(queues.c.metadata.contains(DEAD_LETTER_MARK, autoescape=True)))
        .scalar_subquery()
    )
    # The bound applies to the queue it was learned on only (a queue created again under the
    # same name starts over); as a value known before the scan it becomes an index condition.
    head_bound = sa.case(
        (
            claimable_queue == sa.bindparam("p_head_queue_id", type_=sa.BigInteger()),
            sa.bindparam("p_head_seq", type_=sa.BigInteger()),
        ),
        else_=sa.literal(0, sa.BigInteger()),
    )
    head = (
        sa.select(messages.c.seq)
        .where(messages.c.queue_id == claimable_queue, messages.c.seq >= head_bound)
        .order_by(messages.c.seq)
        .limit(1)
        .scalar_subquery()
    )
    picked = (
        sa.select(messages.c.id)
        .where(
            messages.c.queue_id == claimable_queue,
            messages.c.seq >= head_bound,
            alive(_now),
            messages.c.visible_at <= _now,
            unclaimed(_now),
        )
        .order_by(messages.c.seq)
        .limit(sa.bindparam("p_limit", type_=sa.Integer()))
        .with_for_update(skip_locked=True)
    )
    held = (
        messages.update()
        .where(messages.c.id.in_(picked.scalar_subquery()))
        .values(hold_values(claim_id, ttl, grace, expires))
        .returning(*messages.c)
        .cte("held")
    )
    held_ids = sa.select(sa.func.string_agg(held.c.id, sa.literal_column("','")))
    recorded = claims.insert().from_select(
        ["id", "queue_id", "ttl", "grace", "updated", "expires", "message_ids"],
        sa.select(
            claim_id, claimable_queue, ttl, grace, _now, expires, held_ids.scalar_subquery()
        ).where(sa.exists(sa.select(held.c.id))),
    )
    return (
        sa.select(
            queue.c.metadata,
            claimable_queue.label("head_queue_id"),
            head.label("head_seq"),
            held,
        )
        .select_from(queue.outerjoin(held, sa.true()))
        .add_cte(recorded.cte("recorded"))
    )
