"""What a connector file may say, as typed models: read once, checked strictly, every problem named.

A connector file: `{"name": ..., "state": "running|paused|stopped", "config": {...}}`, all optional
but `config`. A source folder's `_source.json`: `{"config": {...}}`. Config values are strings,
numbers or booleans, stored by Connect as strings.

Problems use the stack config's wording (stackconfig/errors.py): `<file>: <key>: <what is wrong>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from stackconfig.errors import problems_of

ConnectorState = Literal["running", "paused", "stopped"]
# The declared states, and the state Connect reports for each.
STATES: tuple[str, ...] = get_args(ConnectorState)
CONNECT_STATES = {"running": "RUNNING", "paused": "PAUSED", "stopped": "STOPPED"}
# Connect accepts almost any name in a URL path, but these keep names readable and safe in logs.
CONNECTOR_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$"


def _as_connect_string(value: Any) -> str:
    """Connect stores every value as a string; booleans as true/false, as Java writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(f"must be a string, number or boolean, got {type(value).__name__}")


ConfigValue = Annotated[str, BeforeValidator(_as_connect_string)]


class FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # As Connect will store it: string to string.
    config: dict[str, ConfigValue] = {}


class SharedFile(FileModel):
    """`_source.json`: settings every connector of one source shares."""


class ConnectorFile(FileModel):
    name: Annotated[str | None, Field(pattern=CONNECTOR_NAME_PATTERN)] = None
    state: ConnectorState = "running"


M = TypeVar("M", bound=FileModel)


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateKey(key)
        document[key] = value
    return document


class FileProblems(Exception):
    """A file could not be read or does not match its model; `problems` are complete sentences."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def read_connector_file(path: Path, shown_as: str) -> ConnectorFile:
    return _read(path, shown_as, ConnectorFile, "a connector file has name, state and config")


def read_shared_file(path: Path, shown_as: str) -> SharedFile:
    return _read(path, shown_as, SharedFile, "_source.json has only config")


def _read(path: Path, shown_as: str, model: type[M], allowed: str) -> M:
    if path.is_symlink():
        # A link may point anywhere, outside the reviewed tree: only regular files are read.
        raise FileProblems([f"{shown_as}: a symbolic link (to {path.readlink()}); use a regular file"])
    try:
        text = path.read_text()
        if not text.strip():
            raise FileProblems([f"{shown_as}: empty file; expected a JSON object ({allowed})"])
        document = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except DuplicateKey as error:
        raise FileProblems(
            [f"{shown_as}: key {error.key!r} appears twice in one object; JSON would keep only the last, remove one"]
        ) from None
    except json.JSONDecodeError as error:
        raise FileProblems(
            [f"{shown_as}: malformed JSON at line {error.lineno} column {error.colno}: {error.msg}"]
        ) from None
    except UnicodeDecodeError:
        raise FileProblems([f"{shown_as}: not UTF-8 text"]) from None
    except OSError as error:
        raise FileProblems([f"{shown_as}: cannot be read ({error.strerror or type(error).__name__})"]) from None
    if not isinstance(document, dict):
        raise FileProblems([f"{shown_as}: expected a JSON object ({allowed})"])
    try:
        return model.model_validate(document)
    except ValidationError as error:
        problems = problems_of(error, unknown_key=allowed)
        raise FileProblems([f"{shown_as}: {key}: {message}" for key, message in problems]) from None
