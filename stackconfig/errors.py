"""One wording for every validation problem, whether it is in the stack config or a connector file.

Each problem is a key path and what is wrong with it (`connect.replicas`, `must be at least 2 (got
1)`); callers put where it is in front: `mm2-eks:connect.replicas: ...` for stack config,
`connectors/.../orders.json: config.tasks.max: ...` for a file. Never the whole document, and
never the value of a secret (`show_input=False`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

# pydantic puts a tagged union's tag (auth.mode, cluster.kind) into error locations; it is not a key.
UNION_TAGS: Mapping[str, set[str]] = {
    "auth": {"plaintext", "tls", "mtls", "scram", "plain", "iam"},
    "cluster": {"new", "existing"},
}


def problems_of(error: ValidationError, *, unknown_key: str, show_input: bool = True) -> list[tuple[str, str]]:
    """(key path, message) for each problem pydantic found; `unknown_key` says what keys are allowed."""
    return [
        describe(problem, unknown_key=unknown_key, show_input=show_input)
        for problem in error.errors(include_input=show_input)
    ]


def describe(problem: Mapping[str, Any], *, unknown_key: str, show_input: bool = True) -> tuple[str, str]:
    key = key_path(str(part) for part in problem["loc"])
    message = str(problem["msg"]).removeprefix("Value error, ")
    if problem["type"] == "extra_forbidden":
        message = f"unknown key ({unknown_key})"
    elif problem["type"] == "missing":
        message = "required but not set"
    elif show_input and "input" in problem and problem["type"] not in ("value_error", "model_type", "dict_type"):
        message = f"{message} (got {problem['input']!r})"
    return key, message


def key_path(parts: Iterable[str]) -> str:
    """`a.b.c` from a pydantic location, without union tags."""
    loc = list(parts)
    kept = [part for index, part in enumerate(loc) if index == 0 or part not in UNION_TAGS.get(loc[index - 1], ())]
    return ".".join(kept)
