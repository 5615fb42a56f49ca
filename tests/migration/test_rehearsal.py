"""A migration rehearsal, for real: watch it with `status`, finish it with `cutover`, count every record.

Three source topics (one renamed by the tree), two consumer groups on the source (one kept up to
date, one about 10,000 records behind). `status` reports records behind falling to 0 once the
producers stop; `cutover --apply` moves both groups; the consumers restart on the destination
while the producers now write to the destination topics. The up-to-date group reads every new
record once (0 lost, 0 duplicates); the lagging group loses nothing and reads no more records
twice than `cutover` said. Each command's real output goes into docs/migration.md.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from connect.connector_tree import ConnectorSpec
from connect.local_runtime import RuntimeState
from connect.polling import poll_until
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.runtime import LocalRuntime
from tests.migration.docs import record_rehearsal
from tests.migration.support import Run, mm2ctl
from tests.support import load_specs, unique, write_tree

pytestmark = pytest.mark.runtime

PARTITIONS = 3
INITIAL_PER_TOPIC = 6_000
LAGGING_BEHIND = 10_000
NEW_PER_TOPIC = 1_000
# Paced: MirrorMaker 2 keeps up with this, so that the up-to-date group stays up to date.
LIVE_RECORDS_PER_SECOND = 150
LIVE_SECONDS = 10


@dataclass
class Flow:
    state: RuntimeState
    root: Path
    topics: list[str]
    renamed: dict[str, str]  # source topic -> its destination topic
    current: str  # the group kept up to date
    lagging: str  # the group about 10,000 records behind
    specs: list[ConnectorSpec]
    produced: list[str] = field(default_factory=list)  # every key written to the source
    runs: list[tuple[str, Run]] = field(default_factory=list)  # what docs/migration.md shows

    def destination_topic(self, topic: str) -> str:
        return self.renamed.get(topic, topic)

    def run(self, runtime: LocalRuntime, title: str, *args: str) -> Run:
        result = mm2ctl(runtime, *args, "--tree", str(self.root))
        self.runs.append((title, result))
        return result


def test_rehearsal(migration_runtime: LocalRuntime, tmp_path: Path) -> None:
    runtime, flow = migration_runtime, _flow(migration_runtime, tmp_path)
    figures: dict[str, Any] = {}
    groups = ["--group", flow.current, "--group", flow.lagging]
    with ConnectClient(runtime.connect_endpoint()) as connect:
        # 1. History on the source, the connectors created stopped: everything is behind.
        flow.produced += _produce(flow.state, "source", flow.topics, 0, INITIAL_PER_TOPIC)
        for spec in flow.specs:
            connect.create_connector(spec.name, spec.config, initial_state="stopped")
        before = flow.run(runtime, "status before mirroring starts", "status")
        assert before.status == 1 and f"{len(flow.produced):,} records behind" in before.last_line, before.shown()
        figures["records behind before mirroring starts"] = len(flow.produced)

        # 2. Mirroring and live traffic; a consumer keeps its group up to date on the source.
        for spec in flow.specs:
            connect.set_state(spec.name, "running")
        current = GroupReader(flow.state, "source", flow.current, flow.topics)
        current.start()
        producer = LiveProducer(flow.state, flow.topics, start=INITIAL_PER_TOPIC)
        producer.start()
        during = _status_json(runtime)
        figures["records behind while producers write"] = _behind(during)
        flow.run(runtime, "status while producers write", "status")
        time.sleep(LIVE_SECONDS)
        flow.produced += producer.stop()
        total = len(flow.produced)

        # 3. The producers stop: records behind fall to 0.
        _status_json_until(runtime, "records behind to fall to 0", lambda r: r.status == 0 and _behind(r) == 0)
        caught_up = flow.run(runtime, "status once the producers stopped", "status")
        assert caught_up.status == 0 and caught_up.last_line.startswith("CAUGHT UP AND HEALTHY"), caught_up.shown()
        current.wait_for(total)
        current.stop()

        # 4. The lagging group reads all but about 10,000 records, then stops; both groups get translated.
        lagging_read = _consume_and_commit(flow.state, flow.lagging, flow.topics, total - LAGGING_BEHIND)
        translated = _status_json_until(
            runtime,
            "both groups' checkpoints",
            _TranslationsSettled([flow.current, flow.lagging]),
            describe=lambda r: _translations(r, [flow.current, flow.lagging]),
        )
        figures["lagging group: records it had not read on the source"] = total - len(lagging_read)
        figures["lagging group: records behind its committed offsets on the source"] = _group_lag(
            translated, flow.lagging
        )
        figures["lagging group: duplicates if it moved with MirrorMaker 2's translation"] = _group_duplicates(
            translated, flow.lagging
        )
        flow.run(runtime, "status with both groups translated", "status")

        # 5. cutover: a dry run; a refusal while the lagging group has a member on the destination; --apply.
        dry = flow.run(runtime, "cutover (dry run)", "cutover", "--source", "source", *groups)
        assert dry.status == 0 and dry.last_line.startswith("READY"), dry.shown()
        # MirrorMaker 2 itself writes its translations into the (empty) destination groups: those must stay.
        synced = {group: _destination_offsets(flow, group) for group in (flow.current, flow.lagging)}
        intruder = _member_on_destination(flow, flow.lagging)
        try:
            refused = flow.run(runtime, "cutover --apply, refused", "cutover", "--source", "source", *groups, "--apply")
        finally:
            intruder.close()
        assert refused.status == 1 and "mm2-rehearsal-intruder" in refused.stdout, refused.shown()
        assert {g: _destination_offsets(flow, g) for g in synced} == synced, "a refused cutover wrote offsets"

        plan = mm2ctl(runtime, "cutover", "--source", "source", *groups, "--json", "--tree", str(flow.root)).json()
        moves = {
            (m["group"], m["destination_topic"], m["partition"]): m for g in plan["plan"]["groups"] for m in g["moves"]
        }
        assert all(m["rule"] == "end" and m["duplicates"] == 0 for (g, _, _), m in moves.items() if g == flow.current)
        promised = {(t, p): m["duplicates"] for (g, t, p), m in moves.items() if g == flow.lagging}
        applied = flow.run(runtime, "cutover --apply", "cutover", "--source", "source", *groups, "--apply")
        assert applied.status == 0 and applied.last_line.startswith("APPLIED"), applied.shown()
        for group in (flow.current, flow.lagging):
            expected = {(t, p): m["target"] for (g, t, p), m in moves.items() if g == group}
            assert _destination_offsets(flow, group) == expected, group

        # 6. The file edits cutover printed, applied as `pulumi up` applies them: the connectors stop.
        assert _stop_through_files(flow, plan["plan"], connect) == {spec.name for spec in flow.specs}

    # 7. Producers write to the destination topics; the consumers restart there from the applied offsets.
    destination_topics = [flow.destination_topic(t) for t in flow.topics]
    new_keys = _produce(flow.state, "destination", destination_topics, 0, NEW_PER_TOPIC, label="new")
    current_keys = _read_all(flow.state, flow.current, destination_topics, len(new_keys))
    lagging_keys = _read_all(flow.state, flow.lagging, destination_topics, LAGGING_BEHIND + len(new_keys))

    counted = Counter(current_keys)
    assert not [k for k, n in counted.items() if n > 1], "the up-to-date group read records twice"
    assert set(counted) == set(new_keys), "the up-to-date group read old records, or missed new ones"
    read_on_source = set(lagging_read)
    duplicates = [k for k in lagging_keys if k in read_on_source]
    lost = (set(flow.produced) - read_on_source - set(lagging_keys)) | (set(new_keys) - set(lagging_keys))
    assert not lost, f"the lagging group lost {len(lost)} records, e.g. {sorted(lost)[:5]}"
    by_partition = Counter(_partition_of(flow, key) for key in duplicates)
    assert all(count <= promised.get(key, 0) for key, count in by_partition.items()), (by_partition, promised)
    figures |= {
        "records produced on the source": total,
        "records produced on the destination after the cutover": len(new_keys),
        "up-to-date group on the destination: lost / read twice": f"0 / {sum(n - 1 for n in counted.values())}",
        "lagging group on the destination: lost / read twice (cutover said at most)": (
            f"0 / {len(duplicates)} ({sum(promised.values())})"
        ),
    }
    record_rehearsal(flow.runs, figures, tree=str(flow.root))


# --- The flow ------------------------------------------------------------------------------------------


def _flow(runtime: LocalRuntime, tmp_path: Path) -> Flow:
    state = runtime.state()
    prefix = unique("rehearsal")
    orders, payments, events = (f"{prefix}-{name}" for name in ("orders", "payments", "events"))
    renamed = {orders: f"{orders}-v2"}
    root = write_tree(
        tmp_path / "connectors",
        {
            "_source.json": {"config": {"replication.policy.topic.renames": f"{orders}:{renamed[orders]}"}},
            f"{prefix}-mirror.json": {
                "config": {
                    "connector.class": "MirrorSourceConnector",
                    "topics": f"{orders},{payments},{events}",
                    "tasks.max": 3,
                }
            },
            f"{prefix}-checkpoints.json": {
                "config": {
                    "connector.class": "MirrorCheckpointConnector",
                    "groups": f"{prefix}-.*",
                    # Quicker than the defaults, so that the rehearsal takes minutes: groups are found within
                    # seconds and their checkpoints follow their commits closely.
                    "refresh.groups.interval.seconds": 5,
                    "emit.checkpoints.interval.seconds": 2,
                    "sync.group.offsets.interval.seconds": 2,
                }
            },
        },
    )
    clients.create_topics(state, "source", dict.fromkeys((orders, payments, events), PARTITIONS))
    return Flow(
        state,
        root,
        [orders, payments, events],
        renamed,
        f"{prefix}-current",
        f"{prefix}-lagging",
        load_specs(state, root),
    )


def _key(topic: str, index: int, label: str) -> str:
    return f"{label}:{topic}:{index}"


def _produce(
    state: RuntimeState, cluster: str, topics: list[str], start: int, count: int, label: str = "old"
) -> list[str]:
    producer = clients.producer(state, cluster)
    keys = []
    for index in range(start, start + count):
        for topic in topics:
            key = _key(topic.removesuffix("-v2"), index, label)
            producer.produce(topic, key=key.encode(), value=b"v" * 100, partition=index % PARTITIONS)
            keys.append(key)
        if index % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    return keys


class LiveProducer:
    """Writes to every topic at a steady pace until stopped; returns the keys it wrote."""

    def __init__(self, state: RuntimeState, topics: list[str], start: int) -> None:
        self.state, self.topics, self.next = state, topics, start
        self.keys: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(60)
        return self.keys

    def _run(self) -> None:
        producer = clients.producer(self.state, "source")
        while not self._stop.is_set():
            for topic in self.topics:
                key = _key(topic, self.next, "old")
                producer.produce(topic, key=key.encode(), value=b"v" * 100, partition=self.next % PARTITIONS)
                self.keys.append(key)
            self.next += 1
            producer.poll(0)
            time.sleep(1 / LIVE_RECORDS_PER_SECOND)
        assert producer.flush(60) == 0


class GroupReader:
    """A consumer that keeps its group up to date: reads and commits until stopped."""

    def __init__(self, state: RuntimeState, cluster: str, group: str, topics: list[str]) -> None:
        self.consumer = clients.consumer(state, cluster, group, **{"client.id": f"{group}-reader"})
        self.topics = topics
        self.read = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.consumer.subscribe(self.topics)
        self._thread.start()

    def wait_for(self, count: int) -> None:
        poll_until(lambda: self.read, lambda n: n >= count, timeout=180, what=f"the up-to-date group to read {count}")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        self.consumer.close()  # leaves the group: it is empty now, as before a move

    def _run(self) -> None:
        while not self._stop.is_set():
            messages = self.consumer.consume(num_messages=5000, timeout=0.5)
            if messages:
                self.read += len([m for m in messages if not m.error()])
                self.consumer.commit(asynchronous=False)


def _consume_and_commit(state: RuntimeState, group: str, topics: list[str], count: int) -> list[str]:
    # Small fetches interleave the partitions, so that the group stops part way through each of them.
    consumer = clients.consumer(state, "source", group, **{"max.partition.fetch.bytes": 8192})
    try:
        records = clients.consume(consumer, topics, count, timeout=180)
        assert len(records) == count
        # The offsets after the records kept: the consumer's own position may be past them (a batch's tail).
        kept: dict[tuple[str, int], int] = {}
        for message in records:
            kept[(str(message.topic()), int(message.partition() or 0))] = int(message.offset() or 0) + 1
        positions = [TopicPartition(topic, partition, offset) for (topic, partition), offset in kept.items()]
        consumer.commit(offsets=positions, asynchronous=False)
        return [_key_of(m) for m in records]
    finally:
        consumer.close()


def _read_all(state: RuntimeState, group: str, topics: list[str], at_least: int) -> list[str]:
    """Everything the group reads on the destination from its committed offsets, until nothing more comes."""
    consumer = clients.consumer(state, "destination", group)
    consumer.subscribe(topics)
    keys: list[str] = []
    quiet_since = time.monotonic()
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            messages = [m for m in consumer.consume(num_messages=5000, timeout=1) if not m.error()]
            keys += [_key_of(m) for m in messages]
            if messages:
                quiet_since = time.monotonic()
            elif len(keys) >= at_least and time.monotonic() - quiet_since > 10:
                break
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return keys


def _key_of(message: Message) -> str:
    key = message.key()
    assert isinstance(key, bytes), f"a record without a key at {message.topic()}-{message.partition()}"
    return key.decode()


def _member_on_destination(flow: Flow, group: str) -> Consumer:
    consumer = clients.consumer(flow.state, "destination", group, **{"client.id": "mm2-rehearsal-intruder"})
    consumer.subscribe([flow.destination_topic(flow.topics[0])])
    poll_until(
        lambda: (consumer.poll(0.5), consumer.assignment())[1], timeout=60, what=f"{group} to join on the destination"
    )
    return consumer


def _destination_offsets(flow: Flow, group: str) -> dict[tuple[str, int], int]:
    from confluent_kafka import ConsumerGroupTopicPartitions

    admin = clients.admin(flow.state, "destination")
    (future,) = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values()
    return {(tp.topic, tp.partition): tp.offset for tp in future.result().topic_partitions if tp.offset >= 0}


def _stop_through_files(flow: Flow, plan: dict[str, Any], connect: ConnectClient) -> set[str]:
    """Edit each file as cutover says, then do what `pulumi up` does with the edit: set the declared state."""
    stopped = set()
    for edit in plan["edits"]:
        path = flow.root.parent / edit["path"]  # shown relative to the folder that holds the tree
        document = json.loads(path.read_text())
        document["state"] = "stopped"
        path.write_text(json.dumps(document, indent=2))
        for spec in load_specs(flow.state, flow.root):
            if spec.name == edit["connector"]:
                assert spec.state == "stopped"
                connect.set_state(spec.name, spec.state)
                stopped.add(spec.name)
    return stopped


def _partition_of(flow: Flow, key: str) -> tuple[str, int]:
    _, topic, index = key.split(":")
    return flow.destination_topic(topic), int(index) % PARTITIONS


# --- Reading status ----------------------------------------------------------------------------------


def _status_json(runtime: LocalRuntime) -> Run:
    return mm2ctl(runtime, "status", "--json")


def _status_json_until(
    runtime: LocalRuntime,
    what: str,
    done: Callable[[Run], bool],
    timeout: float = 300,
    describe: Callable[[Run], str] = lambda r: r.last_line,
) -> Run:
    return poll_until(lambda: _status_json(runtime), done, timeout=timeout, interval=3, what=what, describe=describe)


def _behind(result: Run) -> int:
    return sum(int(p["behind"]) for p in result.json()["report"]["partitions"])


def _groups(result: Run, names: list[str]) -> list[dict[str, Any]]:
    return [g for g in result.json()["report"]["groups"] if g["group"] in names]


def _translations(result: Run, names: list[str]) -> str:
    """Per group and partition: its committed offset on the source and the source offset its checkpoint translated."""
    return "; ".join(
        f"{g['group']}[{p['topic']}-{p['partition']}] committed {p['committed']} checkpoint {p['checkpoint_upstream']}"
        for g in _groups(result, names)
        for p in g["partitions"]
    )


class _TranslationsSettled:
    """Done when every partition of the groups has a checkpoint that translates its committed offset, or
    when the checkpoints stay as they are for 3 polls in a row (10 s or more, checkpoints are emitted every 2 s).

    MirrorMaker 2 emits a new checkpoint only when the translated offset moves forward: a commit beyond the
    last offset sync (the end of a quiet topic) may never get a checkpoint of its own.
    """

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.seen: list[str] = []

    def __call__(self, result: Run) -> bool:
        rows = _groups(result, self.names)
        partitions = [p for g in rows for p in g["partitions"]]
        if len(rows) < len(self.names) or any(p["checkpoint_upstream"] is None for p in partitions):
            self.seen.clear()
            return False
        if all(p["checkpoint_upstream"] == p["committed"] for p in partitions):
            return True
        self.seen.append(_translations(result, self.names))
        return len(self.seen) >= 3 and len(set(self.seen[-3:])) == 1


def _group_lag(result: Run, group: str) -> int:
    (row,) = _groups(result, [group])
    return sum(int(p["source_end"]) - int(p["committed"]) for p in row["partitions"])


def _group_duplicates(result: Run, group: str) -> int:
    (row,) = _groups(result, [group])
    return sum(max(0, int(p["duplicates"] or 0)) for p in row["partitions"])
