"""Which topics and groups each connector selects: valid Java patterns, and no topic mirrored twice.

Two source connectors of one source that both select a topic copy each of its records twice into
the same destination topic. When that is certain (a topic named in one is selected by the other)
it is an error; when two patterns only might meet, a warning. Patterns are checked with Java's
regex engine (`connect.topic_patterns`), as MirrorMaker 2 compiles them: the comma-separated list
joined into one alternation, each name matched in full.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from connect.connector_defaults import SOURCE_CONNECTOR
from connect.topic_patterns import JavaUnavailable, PatternReport, check_patterns

# Keys whose value is a comma-separated list of Java regular expressions (MirrorSourceConfig,
# MirrorCheckpointConfig; the *.blacklist spellings are the deprecated names).
PATTERN_KEYS = ("topics", "topics.exclude", "topics.blacklist", "groups", "groups.exclude", "groups.blacklist")
# MirrorMaker 2's defaults (DefaultTopicFilter) when a source connector sets neither key.
DEFAULT_TOPICS = ".*"
DEFAULT_TOPICS_EXCLUDE = r".*[\-\.]internal,.*\.replica,__.*"
# A pattern without these reads as a topic name ('.' is common in names and matches itself too).
_METACHARACTERS = re.compile(r"[\\^$|?*+()\[\]{}]")
# Where a pattern's fixed start ends ('.' included: in a pattern it matches any character).
_PREFIX_END = re.compile(r"[\\^$|?*+()\[\]{}.]")


@dataclass(frozen=True)
class TopicSelection:
    """One source connector's topic filter."""

    connector: str
    source_file: str
    source_cluster: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    @property
    def literal_names(self) -> set[str]:
        return {pattern for pattern in self.include if not _METACHARACTERS.search(pattern)}

    @property
    def open_patterns(self) -> list[str]:
        return [pattern for pattern in self.include if _METACHARACTERS.search(pattern)]

    def selected_names(self, report: PatternReport) -> set[str]:
        """The names (of those the report was asked about) this filter selects."""
        included = set().union(*(report.matches.get(pattern, frozenset()) for pattern in self.include))
        return included - set().union(*(report.matches.get(pattern, frozenset()) for pattern in self.exclude))


class _Spec(Protocol):  # what this module reads of connect.connector_tree.ConnectorSpec
    @property
    def name(self) -> str: ...
    @property
    def config(self) -> Mapping[str, str]: ...
    @property
    def source_file(self) -> str: ...
    @property
    def source_cluster(self) -> str: ...


def split_patterns(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def check_selections(specs: Sequence[_Spec], problems: list[str], warnings: list[str]) -> None:
    """Java-invalid patterns and certain overlaps become problems; possible overlaps warnings."""
    patterns = {
        (spec.source_file, key, pattern)
        for spec in specs
        for key in PATTERN_KEYS
        if key in spec.config
        for pattern in split_patterns(spec.config[key])
    }
    selections = [_selection(spec) for spec in specs if spec.config.get("connector.class") == SOURCE_CONNECTOR]
    names = {name for selection in selections for name in selection.literal_names}
    everything = {pattern for _, _, pattern in patterns} | {
        pattern for selection in selections for pattern in (*selection.include, *selection.exclude)
    }
    try:
        report = check_patterns(sorted(everything), sorted(names))
    except (JavaUnavailable, OSError) as error:
        warnings.append(f"topic and group patterns were not checked with Java's regex rules: {error}")
        return
    for source_file, key, pattern in sorted(patterns):
        if pattern in report.errors:
            problems.append(
                f"{source_file}: config.{key}: {pattern!r} is not a valid Java regular expression "
                f"({report.errors[pattern]})"
            )
    if any(pattern in report.errors for pattern in everything):
        return
    ordered = sorted(selections, key=lambda selection: selection.source_file)
    # Which connectors select each named topic: one pass per connector, not one per pair of them.
    selected_by: dict[tuple[str, str], list[TopicSelection]] = {}
    for selection in ordered:
        for name in selection.selected_names(report):
            selected_by.setdefault((selection.source_cluster, name), []).append(selection)
    shared: dict[tuple[str, str], list[str]] = {}
    for (_, name), both in selected_by.items():
        for first, second in itertools.combinations(both, 2):
            shared.setdefault((first.source_file, second.source_file), []).append(name)
    for (first_file, second_file), topics in sorted(shared.items()):
        problems.append(
            f"{second_file}: selects topic(s) {sorted(topics)} that {first_file} mirrors too; "
            "each record would arrive twice. Select each topic in one connector only "
            "(or exclude it with topics.exclude)"
        )
    open_ones = [selection for selection in ordered if selection.open_patterns]
    for first, second in itertools.combinations(open_ones, 2):
        same_source = first.source_cluster == second.source_cluster
        if same_source and (first.source_file, second.source_file) not in shared and _may_meet(first, second):
            warnings.append(
                f"{second.source_file} and {first.source_file}: their topic patterns may select the same "
                f"topic ({', '.join(first.include)} / {', '.join(second.include)}); a topic selected by both "
                "would be mirrored twice"
            )


def _selection(spec: _Spec) -> TopicSelection:
    config = spec.config
    exclude = config.get("topics.exclude", config.get("topics.blacklist", DEFAULT_TOPICS_EXCLUDE))
    return TopicSelection(
        spec.name,
        spec.source_file,
        spec.source_cluster,
        split_patterns(config.get("topics", DEFAULT_TOPICS)),
        split_patterns(exclude),
    )


def _may_meet(first: TopicSelection, second: TopicSelection) -> bool:
    """Whether two patterns could select one topic, as far as their fixed prefixes tell (names
    were matched exactly above, so only pattern against pattern is left)."""
    return any(_prefixes_agree(a, b) for a in first.open_patterns for b in second.open_patterns)


def _prefixes_agree(first: str, second: str) -> bool:
    # The literal start of a pattern, up to its first metacharacter (a leading ^ is an anchor).
    a, b = (_PREFIX_END.split(pattern.removeprefix("^"), maxsplit=1)[0] for pattern in (first, second))
    return a.startswith(b) or b.startswith(a)
