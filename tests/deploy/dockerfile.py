"""A small reader of our Dockerfile: its stages and their instructions, continuations joined.

Enough for structural checks (targets, users, entry points); it is not a general parser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_FROM = re.compile(r"^FROM\s+(?P<base>\S+)(?:\s+AS\s+(?P<name>\S+))?$", re.IGNORECASE)


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.values(keyword)
        return found[-1] if found else None


def logical_lines(text: str) -> list[str]:
    """Lines with comments dropped and backslash continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append((pending + stripped).strip())
        pending = ""
    if pending:
        lines.append(pending.strip())
    return lines


def parse_stages(path: Path) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical_lines(path.read_text()):
        keyword, _, argument = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = _FROM.match(line)
            if match is None:
                raise ValueError(f"unreadable FROM line: {line}")
            name = match["name"] or f"stage-{len(stages)}"
            current = Stage(name, match["base"])
            stages[name] = current
        elif current is not None:
            current.instructions.append((keyword, argument.strip()))
    return stages


def exec_form(argument: str) -> list[str]:
    """The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD."""
    value = json.loads(argument)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"not an exec-form array: {argument}")
    return value


def inherited(stages: dict[str, Stage], name: str, keyword: str) -> str | None:
    """The last ``keyword`` of the stage or, failing that, of the stages it is built on."""
    stage: Stage | None = stages.get(name)
    while stage is not None:
        value = stage.last(keyword)
        if value is not None:
            return value
        stage = stages.get(stage.base)
    return None
