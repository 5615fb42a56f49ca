package io.github.mm2eks.worker.restarts;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Restarts through this worker's own REST API on loopback, as an operator would: the request goes through the
 * worker's REST authentication, and Connect forwards it to the leader, which has the owner of the task restart it.
 */
final class WorkerRestClient {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Below Connect's own 90 s request timeout, so that a slow herder answers before we give up. */
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
    private static final int MAX_MESSAGE_CHARS = 300;

    /** A restart request that did not succeed; nothing was restarted as far as this worker knows. */
    static final class RestartFailed extends Exception {
        RestartFailed(String message) {
            super(message);
        }
    }

    /** How the workers' request logs tell the supervisor's restarts from a client's (an operator's, `pulumi up`'s). */
    static final String USER_AGENT = "mm2-eks-restart-supervisor";

    private final URI base;
    private final Optional<Path> authorizationFile;
    private final HttpClient http;

    WorkerRestClient(URI base, Optional<Path> authorizationFile) {
        this.base = base;
        this.authorizationFile = authorizationFile;
        this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
    }

    void restart(Subject subject) throws RestartFailed, InterruptedException {
        String connector = segment(subject.connector());
        post(subject.isConnector()
            // Only the connector instance: its tasks are restarted one by one, each with its own back-off.
            ? "connectors/" + connector + "/restart?includeTasks=false&onlyFailed=true"
            : "connectors/" + connector + "/tasks/" + subject.task() + "/restart");
    }

    private void post(String path) throws RestartFailed, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path))
            .timeout(REQUEST_TIMEOUT)
            .header("Accept", "application/json")
            .header("User-Agent", USER_AGENT)
            .POST(HttpRequest.BodyPublishers.noBody());
        Optional<String> token = token();
        token.ifPresent(value -> request.header("Authorization", "Basic " + value));
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException error) {
            throw new RestartFailed("POST " + base.resolve(path) + " failed: " + error);
        }
        int status = response.statusCode();
        if (status / 100 != 2) {
            String hint = status == 401 ? " (the REST API rejected the token in "
                + authorizationFile.map(Path::toString).orElse("no file: none was sent") + ")" : "";
            throw new RestartFailed("POST " + base.resolve(path) + " answered HTTP " + status + hint + ": "
                + abbreviate(response.body()));
        }
    }

    private Optional<String> token() throws RestartFailed {
        if (authorizationFile.isEmpty()) {
            return Optional.empty();
        }
        Path file = authorizationFile.get();
        try {
            // One line; a mounted Secret may end it with a newline.
            String token = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (token.isEmpty()) {
                throw new RestartFailed("the REST authorization file " + file + " is empty");
            }
            return Optional.of(token);
        } catch (IOException error) {
            throw new RestartFailed("cannot read the REST authorization file " + file + ": " + error);
        }
    }

    private static String segment(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String abbreviate(String body) {
        String flat = body == null ? "" : body.replaceAll("\\s+", " ").trim();
        return flat.length() <= MAX_MESSAGE_CHARS ? flat : flat.substring(0, MAX_MESSAGE_CHARS) + "...";
    }
}
