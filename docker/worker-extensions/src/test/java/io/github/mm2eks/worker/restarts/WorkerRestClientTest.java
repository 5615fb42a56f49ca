package io.github.mm2eks.worker.restarts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** The requests the supervisor sends, against a loopback HTTP server standing in for the worker's REST API. */
class WorkerRestClientTest {

    record Request(String method, String uri, String authorization) {
    }

    final List<String> agents = new CopyOnWriteArrayList<>();

    HttpServer server;
    final List<Request> requests = new CopyOnWriteArrayList<>();
    volatile int status = 204;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            requests.add(new Request(exchange.getRequestMethod(), exchange.getRequestURI().toString(),
                exchange.getRequestHeaders().getFirst("Authorization")));
            agents.add(exchange.getRequestHeaders().getFirst("User-Agent"));
            byte[] body = "{\"error_code\":409,\"message\":\"Cannot complete request momentarily\"}".getBytes();
            exchange.sendResponseHeaders(status, status == 204 ? -1 : body.length);
            if (status != 204) {
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    URI base() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    }

    @Test
    void restartsATaskOrOnlyTheFailedConnectorWithTheTokenOfTheFile(@TempDir Path folder) throws Exception {
        Path token = Files.writeString(folder.resolve("probe-authorization"), "dXNlcjpwYXNz\n");
        WorkerRestClient client = new WorkerRestClient(base(), Optional.of(token));
        client.restart(Subject.task("orders replica", 3));
        status = 202;
        client.restart(Subject.connector("orders"));
        assertEquals(List.of(
            new Request("POST", "/connectors/orders%20replica/tasks/3/restart", "Basic dXNlcjpwYXNz"),
            new Request("POST", "/connectors/orders/restart?includeTasks=false&onlyFailed=true",
                "Basic dXNlcjpwYXNz")), requests);
        // The workers' request logs tell these restarts from a client's by the agent (localkafka/connect_log.py).
        assertEquals(List.of("mm2-eks-restart-supervisor", "mm2-eks-restart-supervisor"), agents);
    }

    @Test
    void aRotatedTokenIsUsedAtTheNextRestart(@TempDir Path folder) throws Exception {
        Path token = Files.writeString(folder.resolve("probe-authorization"), "b2xk");
        WorkerRestClient client = new WorkerRestClient(base(), Optional.of(token));
        client.restart(Subject.task("orders", 0));
        Files.writeString(token, "bmV3");
        client.restart(Subject.task("orders", 0));
        assertEquals(List.of("Basic b2xk", "Basic bmV3"), requests.stream().map(Request::authorization).toList());
    }

    @Test
    void aRefusedRestartSaysWhatConnectAnswered() {
        status = 409;
        WorkerRestClient client = new WorkerRestClient(base(), Optional.empty());
        WorkerRestClient.RestartFailed error = assertThrows(WorkerRestClient.RestartFailed.class,
            () -> client.restart(Subject.task("orders", 0)));
        assertTrue(error.getMessage().contains("HTTP 409") && error.getMessage().contains("momentarily"),
            error.getMessage());
        assertEquals(null, requests.get(0).authorization());
    }
}
