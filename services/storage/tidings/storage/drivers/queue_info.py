"""The reserved metadata of a stored queue, read the way storage needs it (spec 2.6).

Defaults apply when a stored value is missing or falsy, as in Zaqar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue

from tidings.common.settings import CommonSettings


def _int_or_none(value: Any) -> int | None:
    # bool is an int in Python and JSON true counts as 1 in Zaqar's checks; keep that.
    if isinstance(value, int) and value:
        return int(value)
    return None


@dataclass(frozen=True)
class QueueInfo:
    id: int
    name: str
    metadata: dict[str, JsonValue]
    created: float

    @classmethod
    def from_row(cls, id_: int, name: str, metadata_text: str, created: float) -> QueueInfo:
        return cls(id=id_, name=name, metadata=json.loads(metadata_text), created=created)

    def default_ttl(self, settings: CommonSettings) -> int:
        return _int_or_none(self.metadata.get("_default_message_ttl")) or (
            settings.default_message_ttl
        )

    @property
    def default_delay(self) -> int:
        return _int_or_none(self.metadata.get("_default_message_delay")) or 0

    @property
    def delayed(self) -> bool:
        """A queue is delayed iff its ``_default_message_delay`` is non-zero (spec 3.3)."""
        return self.default_delay > 0

    @property
    def max_post_size(self) -> int | None:
        return _int_or_none(self.metadata.get("_max_messages_post_size"))

    @property
    def encrypted(self) -> bool:
        return self.metadata.get("_enable_encrypt_messages") is True

    @property
    def dead_letter_queue(self) -> str | None:
        """The DLQ name when dead-lettering is enabled (both keys set, spec 3.4)."""
        name = self.metadata.get("_dead_letter_queue")
        if isinstance(name, str) and name and self.max_claim_count is not None:
            return name
        return None

    @property
    def max_claim_count(self) -> int | None:
        # 0 or missing disables dead-lettering (Zaqar tests the value for truth).
        return _int_or_none(self.metadata.get("_max_claim_count"))

    @property
    def dead_letter_ttl(self) -> int | None:
        return _int_or_none(self.metadata.get("_dead_letter_queue_messages_ttl"))
