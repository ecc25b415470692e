"""What an action handler gets: the frame, its project, storage, the socket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tidings.common.rpc import StorageClient
from tidings.common.schemas import Schema
from tidings.common.subscription_trusts import Caller, SubscriptionTrusts
from tidings.common.validation import validate_client_id, validate_queue_identification
from tidings.websocket.protocol import Reply, Request
from tidings.websocket.schema import ActionSchema
from tidings.websocket.session import Session
from tidings.websocket.settings import WebsocketSettings
from tidings.websocket.subscriptions import SocketSubscriptions

R = TypeVar("R", bound=Schema)


@dataclass
class Context:
    request: Request
    headers: dict[str, Any]
    body: dict[str, Any]
    project: str
    roles: list[str]
    settings: WebsocketSettings
    storage: StorageClient
    session: Session
    subscriptions: SocketSubscriptions
    trusts: SubscriptionTrusts
    caller: Caller

    def queue_name(self) -> str:
        name = str(self.body["queue_name"])
        validate_queue_identification(name, self.project)
        return name

    def client_id(self) -> str:
        return validate_client_id(self.headers.get("Client-ID"), self.settings)

    async def call(self, operation: str, request: Schema, reply_type: type[R]) -> R:
        return await self.storage.call(operation, request, reply_type)


Handler = Callable[[Context], Awaitable[Reply]]
# Raises NotFound when the deployment does not serve the action (as REST has no such route),
# which answers before the authorization rule is applied.
Availability = Callable[[WebsocketSettings], None]


def always_available(settings: WebsocketSettings) -> None:
    return None


@dataclass(frozen=True)
class Action:
    schema: ActionSchema
    handler: Handler
    available: Availability = always_available
