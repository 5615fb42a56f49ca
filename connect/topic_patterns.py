"""Topic and group patterns checked with Java's regex engine, the one MirrorMaker 2 uses.

Python's `re` differs from `java.util.regex` (named groups, `\\p{...}` classes, `&&` in classes),
so a pattern Python accepts may fail in Connect, and the reverse. `TopicPatterns.java` is compiled
once per version of its source into the user's cache folder and then answers in about 50 ms.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "java" / "TopicPatterns.java"
JAVA_TIMEOUT_SECONDS = 60


class JavaUnavailable(Exception):
    """No JDK to check patterns with; the message says what is missing."""


@dataclass(frozen=True)
class PatternReport:
    # pattern -> Java's description of what is wrong with it
    errors: dict[str, str]
    # pattern -> the names (of those asked about) that it matches in full
    matches: dict[str, frozenset[str]]


def check_patterns(patterns: Sequence[str], names: Sequence[str]) -> PatternReport:
    unique_patterns = sorted(set(patterns))
    unique_names = sorted(set(names))
    bad_lines = [p for p in (*unique_patterns, *unique_names) if "\n" in p or "\r" in p]
    if bad_lines:
        raise ValueError(f"patterns and names are single lines: {bad_lines[0]!r}")
    request = "\n".join([str(len(unique_patterns)), *unique_patterns, str(len(unique_names)), *unique_names, ""])
    classes = _compiled_classes()
    result = subprocess.run(
        ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", str(classes), "TopicPatterns"],
        input=request,
        capture_output=True,
        text=True,
        timeout=JAVA_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        raise JavaUnavailable(f"the Java pattern check failed: {result.stderr.strip()[-500:]}")
    lines = result.stdout.splitlines()
    verdicts, rows = lines[: len(unique_patterns)], lines[len(unique_patterns) :]
    errors = {p: v.removeprefix("error ") for p, v in zip(unique_patterns, verdicts, strict=True) if v != "ok"}
    matches = {
        pattern: frozenset(name for name, bit in zip(unique_names, row, strict=True) if bit == "1")
        for pattern, row in zip(unique_patterns, rows, strict=True)
    }
    return PatternReport(errors, matches)


def _compiled_classes() -> Path:
    """The checker's class folder, compiled once per source version (javac takes about a second)."""
    if shutil.which("java") is None or shutil.which("javac") is None:
        raise JavaUnavailable("java and javac (JDK 17) are not on PATH")
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mm2-eks" / "topic-patterns" / digest
    if (cache / "TopicPatterns.class").exists():
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=cache.parent))
    result = subprocess.run(
        ["javac", "-d", str(scratch), str(SOURCE)], capture_output=True, text=True, timeout=JAVA_TIMEOUT_SECONDS
    )
    if result.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        raise JavaUnavailable(f"compiling {SOURCE.name} failed: {result.stderr.strip()[-500:]}")
    try:
        scratch.rename(cache)  # atomic: a concurrent run either sees the whole folder or none
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)  # another run got there first
    return cache
