package io.github.mm2eks.worker.offsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.function.Predicate;

/** Requests the tool refuses, MirrorMaker 2's pattern semantics, and a bounded failure on an unreachable cluster. */
class OffsetsToolTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void clusterArgumentsAreAliasEqualsFile() {
        assertEquals("/etc/mm2/worker/connect-distributed.properties",
            OffsetsTool.clusterFiles(new String[] {"destination=/etc/mm2/worker/connect-distributed.properties"})
                .get("destination").toString());
        for (String bad : new String[] {"destination", "=file", "destination="}) {
            ToolFailure failure = assertThrows(ToolFailure.class, () -> OffsetsTool.clusterFiles(new String[] {bad}));
            assertEquals(ToolFailure.Kind.REQUEST, failure.kind);
        }
    }

    @Test
    void selectionJoinsThePatternsLikeMirrorMakersFiltersAndExcludesWin() throws IOException {
        Predicate<String> selected = Operations.selection(
            JSON.readTree("[\"orders\", \"events-.*\"]"), JSON.readTree("[\".*-internal\"]"));
        assertTrue(selected.test("orders"));
        assertTrue(selected.test("events-eu"));
        assertFalse(selected.test("orders-v2"), "a pattern matches the whole name");
        assertFalse(selected.test("events-internal"));
        assertFalse(Operations.selection(JSON.readTree("[]"), JSON.readTree("[]")).test("orders"),
            "no include pattern selects nothing");
    }

    @Test
    void anUnknownOperationOrClusterIsABadRequest() throws IOException {
        JsonNode unknownOp = JSON.readTree(
            "{\"clusters\": {\"source\": {\"bootstrap.servers\": \"127.0.0.1:1\"}},"
                + " \"requests\": [{\"op\": \"delete\", \"cluster\": \"source\"}]}");
        ToolFailure failure = assertThrows(ToolFailure.class, () -> OffsetsTool.answer(new String[0], unknownOp));
        assertEquals(ToolFailure.Kind.REQUEST, failure.kind);
        assertTrue(failure.getMessage().startsWith("unknown op 'delete'"), failure.getMessage());

        JsonNode unknownCluster = JSON.readTree("{\"requests\": [{\"op\": \"topics\", \"cluster\": \"west\"}]}");
        failure = assertThrows(ToolFailure.class, () -> OffsetsTool.answer(new String[0], unknownCluster));
        assertTrue(failure.getMessage().contains("unknown cluster 'west'"), failure.getMessage());
    }

    @Test
    void aClusterThatDoesNotAnswerEndsTheRunWithinItsTimeoutNamingTheAddress() throws IOException {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort(); // free once closed: nothing listens there
        }
        JsonNode request = JSON.readTree("{\"timeoutMs\": 3000, \"clusters\": {\"source\": {\"bootstrap.servers\": "
            + "\"127.0.0.1:" + port + "\"}}, \"requests\": [{\"op\": \"topics\", \"cluster\": \"source\", "
            + "\"names\": [\"orders\"]}]}");
        long started = System.nanoTime();
        ToolFailure failure = assertThrows(ToolFailure.class, () -> OffsetsTool.answer(new String[0], request));
        assertTrue(System.nanoTime() - started < 30_000_000_000L, "the request's timeout bounds the run");
        assertEquals(ToolFailure.Kind.UNREACHABLE, failure.kind);
        assertEquals(3, failure.kind.exitStatus);
        assertTrue(failure.getMessage().startsWith("cluster 'source' at 127.0.0.1:" + port + " did not answer"),
            failure.getMessage());
    }
}
