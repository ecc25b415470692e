"""Topics (spec 2.12): the queue and message routes under ``/v2/topics`` in their own
namespace (see tidings.api.kinds). Topics have no claims, as in Zaqar."""

from __future__ import annotations

from fastapi import APIRouter

from tidings.api.kinds import TOPICS
from tidings.api.routes import messages, queues

router = APIRouter()
router.include_router(queues.build_router(TOPICS))
router.include_router(messages.build_router(TOPICS))
