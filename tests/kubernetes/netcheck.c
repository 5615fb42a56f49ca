/*
 * netcheck: the one program of the Kubernetes tests' pod image (built with gcc -static by conftest.py).
 *
 *   netcheck serve PORT            HTTP/1.0 on 0.0.0.0:PORT; every answer is "netcheck <hostname>\n"
 *                                  (a pod's hostname is its name: the test sees which pod answered)
 *   netcheck send HOST PORT HEX    connect to HOST:PORT, send the bytes HEX, print the reply in hex;
 *                                  exit 0 once something came back, 1 otherwise
 *   netcheck cat FILE...           print each file as "FILE: content" (a pod's volumes, as mounted)
 *
 * PID 1 of a container ignores SIGTERM unless it handles it, so serve exits on SIGTERM at once.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }

static int serve(int port) {
	char host[256] = "unknown", request[4096], answer[512];
	int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY};
	signal(SIGTERM, on_term);
	gethostname(host, sizeof host - 1);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 16) != 0) {
		perror("netcheck serve");
		return 1;
	}
	printf("netcheck: serving on port %d as %s\n", port, host);
	fflush(stdout);
	for (;;) {
		int client = accept(listener, NULL, NULL), body;
		size_t got = 0;
		ssize_t n;
		if (client < 0) continue;
		/* Read the request head (a probe's bare connect sends nothing and closes: fine). */
		while (got < sizeof request - 1 && (n = read(client, request + got, sizeof request - 1 - got)) > 0) {
			got += (size_t)n;
			request[got] = 0;
			if (strstr(request, "\r\n\r\n")) break;
		}
		body = snprintf(answer, sizeof answer, "netcheck %s\n", host);
		dprintf(client, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", body, answer);
		close(client);
	}
}

static int send_hex(const char *host, int port, const char *hex) {
	unsigned char out[4096], in[4096];
	size_t length = strlen(hex) / 2;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval timeout = {.tv_sec = 10};
	int sock = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;
	if (length > sizeof out || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "netcheck send: bad host %s or too much hex\n", host);
		return 2;
	}
	for (size_t i = 0; i < length; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
	if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
		perror("netcheck send: connect");
		return 1;
	}
	if (write(sock, out, length) != (ssize_t)length) {
		perror("netcheck send: write");
		return 1;
	}
	n = read(sock, in, sizeof in);
	if (n <= 0) {
		fprintf(stderr, "netcheck send: no reply from %s:%d\n", host, port);
		return 1;
	}
	printf("reply ");
	for (ssize_t i = 0; i < n; i++) printf("%02x", in[i]);
	printf("\n");
	return 0;
}

static int cat(int count, char **files) {
	char content[4096];
	for (int i = 0; i < count; i++) {
		FILE *file = fopen(files[i], "r");
		size_t n;
		if (!file) {
			perror(files[i]);
			return 1;
		}
		n = fread(content, 1, sizeof content - 1, file);
		content[n] = 0;
		fclose(file);
		printf("%s: %s\n", files[i], content);
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "send") == 0) return send_hex(argv[2], atoi(argv[3]), argv[4]);
	if (argc >= 3 && strcmp(argv[1], "cat") == 0) return cat(argc - 2, argv + 2);
	fprintf(stderr, "usage: netcheck serve PORT | netcheck send HOST PORT HEX | netcheck cat FILE...\n");
	return 2;
}
