"""The one builder of `java` command lines for Kafka's classes: brokers, Connect tools, perf tools.

The same jars run in three places: the local runtime's jar cache, the image's `/opt/mm2/libs`
(a tool executed inside a worker pod) and the benchmarks' MirrorMaker 1 build. Only the classpath
and the log configuration differ, so they are parameters and the rest is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Enough for every tool and a one-broker cluster; a Connect worker sizes its own heap.
TOOL_HEAP = ("-Xms128m", "-Xmx512m")


@dataclass(frozen=True)
class JavaClasspath:
    """Where a set of Kafka jars lives, and the log4j2 config that keeps their output quiet."""

    libs_dir: str
    log4j_config: str | None = None

    @property
    def classpath(self) -> str:
        return f"{self.libs_dir.rstrip('/')}/*"


def java_command(
    jars: JavaClasspath,
    main_class: str,
    *args: str,
    heap: Sequence[str] = TOOL_HEAP,
    jvm_options: Sequence[str] = (),
) -> list[str]:
    command = ["java", *heap, *jvm_options]
    if jars.log4j_config:
        command.append(f"-Dlog4j2.configurationFile={jars.log4j_config}")
    return [*command, "-cp", jars.classpath, main_class, *args]
