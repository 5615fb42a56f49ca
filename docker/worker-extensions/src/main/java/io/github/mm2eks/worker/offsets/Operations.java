package io.github.mm2eks.worker.offsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.connect.mirror.Checkpoint;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The tool's operations: small, exact reads (and one write) that the operator commands compute with. Each takes one
 * request object and returns one result object; the README of the request format is {@link OffsetsTool}.
 */
final class Operations {

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    /** Records counted per range unless the request says otherwise: keeps a count of a huge backlog bounded. */
    private static final long DEFAULT_COUNT_LIMIT = 1_000_000;

    private final Clusters clusters;

    Operations(Clusters clusters) {
        this.clusters = clusters;
    }

    ObjectNode run(JsonNode request) {
        String op = text(request, "op");
        String cluster = text(request, "cluster");
        try {
            return switch (op) {
                case "topics" -> topics(cluster, request);
                case "groups" -> groups(cluster, request);
                case "checkpoints" -> checkpoints(cluster, text(request, "topic"));
                case "count" -> count(cluster, request.path("ranges"));
                case "setGroupOffsets" -> setGroupOffsets(cluster, request.path("groups"));
                default -> throw ToolFailure.request("unknown op '" + op
                    + "'; expected topics, groups, checkpoints, count or setGroupOffsets");
            };
        } catch (CallFailed error) {
            throw Failures.of(cluster, clusters.address(cluster), error.getCause());
        } catch (TimedOut error) {
            throw Failures.timedOut(cluster, clusters.address(cluster), clusters.timeout());
        } catch (ToolFailure error) {
            throw error;
        } catch (RuntimeException error) {
            throw Failures.of(cluster, clusters.address(cluster), error);
        }
    }

    // ---- topics: partitions and their log-start, end (high watermark) and last stable offsets ----

    private ObjectNode topics(String cluster, JsonNode request) {
        Admin admin = clusters.admin(cluster);
        Set<String> wanted = new TreeSet<>();
        ArrayNode missing = JSON.arrayNode();
        if (request.has("names")) {
            request.get("names").forEach(name -> wanted.add(name.asText()));
        } else {
            Predicate<String> selected = selection(request.path("include"), request.path("exclude"));
            for (String name : get(admin.listTopics(new ListTopicsOptions().listInternal(false)).names())) {
                if (selected.test(name)) {
                    wanted.add(name);
                }
            }
        }
        Map<String, TopicDescription> described = new TreeMap<>();
        for (Map.Entry<String, KafkaFuture<TopicDescription>> entry
            : admin.describeTopics(wanted).topicNameValues().entrySet()) {
            try {
                described.put(entry.getKey(), get(entry.getValue()));
            } catch (CallFailed error) {
                if (!(error.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw error;
                }
                missing.add(entry.getKey());
            }
        }
        List<TopicPartition> partitions = new ArrayList<>();
        described.forEach((name, description) -> description.partitions()
            .forEach(info -> partitions.add(new TopicPartition(name, info.partition()))));
        Map<TopicPartition, Long> logStart = offsets(admin, partitions, OffsetSpec.earliest(),
            IsolationLevel.READ_UNCOMMITTED);
        Map<TopicPartition, Long> end = offsets(admin, partitions, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED);
        Map<TopicPartition, Long> stable = offsets(admin, partitions, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED);

        ArrayNode topics = JSON.arrayNode();
        described.forEach((name, description) -> {
            ArrayNode rows = JSON.arrayNode();
            description.partitions().forEach(info -> {
                TopicPartition partition = new TopicPartition(name, info.partition());
                rows.addObject()
                    .put("partition", info.partition())
                    .put("logStart", logStart.get(partition))
                    .put("end", end.get(partition))
                    .put("stable", stable.get(partition));
            });
            topics.addObject().put("name", name).set("partitions", rows);
        });
        ObjectNode result = JSON.objectNode();
        result.set("topics", topics);
        result.set("missing", missing);
        return result;
    }

    private Map<TopicPartition, Long> offsets(Admin admin, List<TopicPartition> partitions, OffsetSpec spec,
                                              IsolationLevel isolation) {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(partition -> request.put(partition, spec));
        Map<TopicPartition, Long> offsets = new HashMap<>();
        if (request.isEmpty()) {
            return offsets;
        }
        Map<TopicPartition, ListOffsetsResultInfo> answer =
            get(admin.listOffsets(request, new ListOffsetsOptions(isolation)).all());
        answer.forEach((partition, info) -> offsets.put(partition, info.offset()));
        return offsets;
    }

    // ---- groups: state, members and committed offsets ----

    private ObjectNode groups(String cluster, JsonNode request) {
        Admin admin = clusters.admin(cluster);
        Set<String> wanted = new TreeSet<>();
        if (request.has("names")) {
            request.get("names").forEach(name -> wanted.add(name.asText()));
        } else {
            Predicate<String> selected = selection(request.path("include"), request.path("exclude"));
            for (GroupListing listing : get(admin.listGroups(ListGroupsOptions.forConsumerGroups()).all())) {
                if (selected.test(listing.groupId())) {
                    wanted.add(listing.groupId());
                }
            }
        }
        ArrayNode groups = JSON.arrayNode();
        ArrayNode missing = JSON.arrayNode();
        Map<String, KafkaFuture<ConsumerGroupDescription>> descriptions =
            wanted.isEmpty() ? Map.of() : admin.describeConsumerGroups(wanted).describedGroups();
        for (String group : wanted) {
            ConsumerGroupDescription description;
            try {
                description = get(descriptions.get(group));
            } catch (CallFailed error) {
                if (!(error.getCause() instanceof GroupIdNotFoundException)) {
                    throw error;
                }
                missing.add(group);
                continue;
            }
            Map<TopicPartition, OffsetAndMetadata> committed =
                get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
            if (description.groupState() == GroupState.DEAD && committed.isEmpty()) {
                missing.add(group);
                continue;
            }
            ObjectNode row = groups.addObject();
            row.put("group", group).put("state", description.groupState().toString());
            row.set("members", members(description.members()));
            ArrayNode offsets = row.putArray("offsets");
            new TreeMap<>(byName(committed)).forEach((key, entry) -> {
                if (entry.getValue() != null) {
                    offsets.addObject()
                        .put("topic", entry.getKey().topic())
                        .put("partition", entry.getKey().partition())
                        .put("offset", entry.getValue().offset());
                }
            });
        }
        ObjectNode result = JSON.objectNode();
        result.set("groups", groups);
        result.set("missing", missing);
        return result;
    }

    private static ArrayNode members(Collection<MemberDescription> members) {
        ArrayNode rows = JSON.arrayNode();
        members.forEach(member -> rows.addObject()
            .put("memberId", member.consumerId())
            .put("clientId", member.clientId())
            .put("host", member.host()));
        return rows;
    }

    // ---- checkpoints: MirrorMaker 2's translated offsets, the latest per group and partition ----

    private ObjectNode checkpoints(String cluster, String topic) {
        ObjectNode result = JSON.objectNode();
        ArrayNode rows = result.putArray("checkpoints");
        Admin admin = clusters.admin(cluster);
        TopicDescription description;
        try {
            description = get(admin.describeTopics(List.of(topic)).topicNameValues().get(topic));
        } catch (CallFailed error) {
            if (error.getCause() instanceof UnknownTopicOrPartitionException) {
                result.put("missing", true);
                return result;
            }
            throw error;
        }
        List<TopicPartition> partitions = new ArrayList<>();
        description.partitions().forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
        Map<TopicPartition, Long> from = offsets(admin, partitions, OffsetSpec.earliest(), IsolationLevel.READ_COMMITTED);
        Map<TopicPartition, Long> to = offsets(admin, partitions, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED);
        // Compacted by key: the last record read for a (group, topic, partition) is the current checkpoint.
        Map<String, Checkpoint> latest = new TreeMap<>();
        read(clusters.consumer(cluster), from, to, Long.MAX_VALUE, record -> {
            Checkpoint checkpoint = Checkpoint.deserializeRecord(record);
            latest.put(checkpoint.consumerGroupId() + "\u0000" + checkpoint.topicPartition(), checkpoint);
        });
        latest.values().forEach(checkpoint -> rows.addObject()
            .put("group", checkpoint.consumerGroupId())
            .put("topic", checkpoint.topicPartition().topic())
            .put("partition", checkpoint.topicPartition().partition())
            .put("upstreamOffset", checkpoint.upstreamOffset())
            .put("downstreamOffset", checkpoint.downstreamOffset()));
        result.put("missing", false);
        return result;
    }

    // ---- count: how many committed records lie in [from, to) of each partition ----

    private ObjectNode count(String cluster, JsonNode ranges) {
        Admin admin = clusters.admin(cluster);
        List<TopicPartition> partitions = new ArrayList<>();
        ranges.forEach(range -> partitions.add(partition(range)));
        Map<TopicPartition, Long> logStart = offsets(admin, partitions, OffsetSpec.earliest(),
            IsolationLevel.READ_UNCOMMITTED);
        Map<TopicPartition, Long> stable = offsets(admin, partitions, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED);

        Map<TopicPartition, Long> from = new LinkedHashMap<>();
        Map<TopicPartition, Long> to = new LinkedHashMap<>();
        Map<TopicPartition, Long> limit = new HashMap<>();
        for (JsonNode range : ranges) {
            TopicPartition partition = partition(range);
            if (from.containsKey(partition)) {
                throw ToolFailure.request("count: partition " + partition + " is asked for twice");
            }
            // Records below the log start are gone: counting starts where the log does. "fromEnd": N starts N
            // offsets before the last stable offset (to find the last record before the end, markers aside).
            long start = range.has("fromEnd") ? stable.get(partition) - range.get("fromEnd").asLong()
                : range.path("from").asLong(0);
            from.put(partition, Math.max(start, logStart.get(partition)));
            to.put(partition, range.has("to") ? Math.min(range.get("to").asLong(), stable.get(partition))
                : stable.get(partition));
            limit.put(partition, range.path("limit").asLong(DEFAULT_COUNT_LIMIT));
        }
        Map<TopicPartition, Long> records = new HashMap<>();
        Map<TopicPartition, Long> last = new HashMap<>();
        Map<TopicPartition, Boolean> complete = read(clusters.consumer(cluster), from, to, limit, record -> {
            TopicPartition partition = new TopicPartition(record.topic(), record.partition());
            records.merge(partition, 1L, Long::sum);
            last.put(partition, record.offset());
        });

        ObjectNode result = JSON.objectNode();
        ArrayNode rows = result.putArray("ranges");
        from.forEach((partition, start) -> {
            ObjectNode row = rows.addObject()
                .put("topic", partition.topic())
                .put("partition", partition.partition())
                .put("from", start)
                .put("to", Math.max(start, to.get(partition)))
                .put("records", records.getOrDefault(partition, 0L))
                .put("complete", complete.get(partition));
            if (last.containsKey(partition)) {
                row.put("lastRecordOffset", last.get(partition));
            } else {
                row.putNull("lastRecordOffset");
            }
        });
        return result;
    }

    private interface RecordSink {
        void accept(ConsumerRecord<byte[], byte[]> record);
    }

    private Map<TopicPartition, Boolean> read(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> from,
                                              Map<TopicPartition, Long> to, long limit, RecordSink sink) {
        Map<TopicPartition, Long> limits = new HashMap<>();
        from.keySet().forEach(partition -> limits.put(partition, limit));
        return read(consumer, from, to, limits, sink);
    }

    /**
     * Reads each partition from {@code from} until its position reaches {@code to} or {@code limit} records were
     * given to {@code sink}; answers, per partition, whether the whole range was read. The position moves past
     * transaction markers, which are not records, so a range that ends in markers is read completely too.
     */
    private Map<TopicPartition, Boolean> read(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> from,
                                              Map<TopicPartition, Long> to, Map<TopicPartition, Long> limit,
                                              RecordSink sink) {
        Map<TopicPartition, Boolean> complete = new HashMap<>();
        Map<TopicPartition, Long> seen = new HashMap<>();
        Set<TopicPartition> open = new TreeSet<>(java.util.Comparator.comparing(TopicPartition::toString));
        from.forEach((partition, start) -> {
            if (start >= to.get(partition)) {
                complete.put(partition, true);
            } else if (limit.get(partition) <= 0) {
                complete.put(partition, false);
            } else {
                open.add(partition);
            }
        });
        if (open.isEmpty()) {
            return complete;
        }
        consumer.assign(open);
        open.forEach(partition -> consumer.seek(partition, from.get(partition)));
        long deadline = System.nanoTime() + clusters.timeout().toNanos();
        while (!open.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new org.apache.kafka.common.errors.TimeoutException("reading " + open + " did not reach "
                    + "the end offsets within " + clusters.timeout().toSeconds() + " s");
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                if (!open.contains(partition) || record.offset() >= to.get(partition)) {
                    continue;
                }
                sink.accept(record);
                if (seen.merge(partition, 1L, Long::sum) >= limit.get(partition)) {
                    // Stopped at the limit: complete only if that record was the range's last offset.
                    complete.put(partition, record.offset() + 1 >= to.get(partition));
                    open.remove(partition);
                }
            }
            for (TopicPartition partition : List.copyOf(open)) {
                if (consumer.position(partition) >= to.get(partition)) {
                    complete.put(partition, true);
                    open.remove(partition);
                }
            }
            consumer.pause(consumer.assignment().stream().filter(partition -> !open.contains(partition)).toList());
        }
        consumer.unsubscribe();
        return complete;
    }

    // ---- setGroupOffsets: the one write, to groups without members only ----

    private ObjectNode setGroupOffsets(String cluster, JsonNode groups) {
        Admin admin = clusters.admin(cluster);
        List<String> names = new ArrayList<>();
        groups.fieldNames().forEachRemaining(names::add);
        ObjectNode result = JSON.objectNode();
        ObjectNode refused = result.putObject("refused");
        Map<String, KafkaFuture<ConsumerGroupDescription>> descriptions =
            names.isEmpty() ? Map.of() : admin.describeConsumerGroups(names).describedGroups();
        for (String group : names) {
            try {
                ConsumerGroupDescription description = get(descriptions.get(group));
                if (!description.members().isEmpty()) {
                    refused.set(group, members(description.members()));
                }
            } catch (CallFailed error) {
                if (!(error.getCause() instanceof GroupIdNotFoundException)) {
                    throw error;
                }
            }
        }
        // All or nothing: one active group means no group is written.
        if (!refused.isEmpty()) {
            result.put("written", false);
            return result;
        }
        for (String group : names) {
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            groups.get(group).forEach(row -> offsets.put(partition(row),
                new OffsetAndMetadata(row.get("offset").asLong(), "mm2ctl cutover")));
            get(admin.alterConsumerGroupOffsets(group, offsets).all());
        }
        result.put("written", true);
        return result;
    }

    // ---- helpers ----

    /** MirrorMaker 2's topic and group filters: the comma-separated patterns joined into one, matched in full. */
    static Predicate<String> selection(JsonNode include, JsonNode exclude) {
        Pattern included = pattern(include);
        Pattern excluded = pattern(exclude);
        return name -> included != null && included.matcher(name).matches()
            && (excluded == null || !excluded.matcher(name).matches());
    }

    private static Pattern pattern(JsonNode patterns) {
        List<String> parts = new ArrayList<>();
        patterns.forEach(part -> parts.add(part.asText()));
        return parts.isEmpty() ? null : Pattern.compile(String.join("|", parts));
    }

    private static Map<String, Map.Entry<TopicPartition, OffsetAndMetadata>> byName(
        Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<String, Map.Entry<TopicPartition, OffsetAndMetadata>> sorted = new TreeMap<>();
        offsets.entrySet().forEach(entry -> sorted.put(
            entry.getKey().topic() + "\u0000" + String.format("%09d", entry.getKey().partition()), entry));
        return sorted;
    }

    private static TopicPartition partition(JsonNode row) {
        return new TopicPartition(text(row, "topic"), row.path("partition").asInt());
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual() || value.asText().isEmpty()) {
            throw ToolFailure.request("field '" + field + "' (a non-empty string) is missing in " + node);
        }
        return value.asText();
    }

    /** The future's value within the timeout; a failure carries Kafka's exception as its cause. */
    private <T> T get(KafkaFuture<T> future) {
        try {
            return future.get(clusters.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException error) {
            throw new CallFailed(error.getCause());
        } catch (TimeoutException error) {
            throw new TimedOut();
        } catch (InterruptedException error) {
            Thread.currentThread().interrupt();
            throw new CallFailed(error);
        }
    }

    /** A Kafka call failed; the cause is Kafka's exception. */
    private static final class CallFailed extends RuntimeException {
        CallFailed(Throwable cause) {
            super(cause);
        }
    }

    /** A Kafka call did not complete within the request's timeout. */
    private static final class TimedOut extends RuntimeException {
    }
}
