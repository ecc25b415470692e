"""Queues and topics: the same resource shapes under two separate namespaces.

Topics (spec 2.12) behave like queues but must never show up among a project's queues, nor a
queue among its topics. Storage knows only queues, so a topic is stored as a queue of a
derived project key: ``"\\x1f" + project`` (ASCII unit separator). No request can name that
project directly, because project headers with control characters are refused
(tidings.api.auth), so the namespaces cannot meet. The storage project column holds 256
characters, so on topic routes the project id may have at most 255.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TOPIC_PROJECT_PREFIX = "\x1f"


@dataclass(frozen=True, slots=True)
class Kind:
    name: Literal["queue", "topic"]
    collection: str  # path segment and list key: "queues" / "topics"
    param: str  # path parameter name: "queue_name" / "topic_name"
    project_prefix: str
    max_project_length: int

    def storage_project(self, project: str) -> str:
        return self.project_prefix + project

    def base_path(self, name: str) -> str:
        return f"/v2/{self.collection}/{name}"


QUEUES = Kind("queue", "queues", "queue_name", "", 256)
TOPICS = Kind(
    "topic", "topics", "topic_name", TOPIC_PROJECT_PREFIX, 256 - len(TOPIC_PROJECT_PREFIX)
)
KINDS_BY_PARAM = {QUEUES.param: QUEUES, TOPICS.param: TOPICS}
