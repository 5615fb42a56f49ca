package io.github.mm2eks.worker.preflight;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;

import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.util.Set;

import javax.net.ssl.SSLHandshakeException;

/**
 * Kafka's first-contact exceptions as one line that says what to fix.
 *
 * <p>Kafka wraps the JSSE and SASL causes a few levels deep; the operator needs the innermost one, named in the
 * words of their settings: the truststore, the broker's certificate and the address connected to, the client
 * certificate, the password. Messages are Kafka's and the JDK's own, which never carry a setting's value.
 */
final class FailureCause {

    /** TLS alerts a broker sends when it refuses the client's certificate (RFC 8446, section 6.2). */
    private static final Set<String> CLIENT_CERTIFICATE_ALERTS = Set.of("bad_certificate", "certificate_unknown",
        "unknown_ca", "certificate_required", "certificate_expired", "certificate_revoked", "access_denied",
        "unsupported_certificate");

    private FailureCause() {
    }

    static String describe(Throwable error) {
        if (error instanceof SslAuthenticationException) {
            return "SSL handshake failed: " + sslCause(error);
        }
        if (error instanceof SaslAuthenticationException) {
            return "authentication failed: " + withRootCause(error);
        }
        if (error instanceof AuthenticationException) {
            return "authentication failed: " + withRootCause(error);
        }
        return withRootCause(error);
    }

    /** Why a TLS handshake failed, from the innermost cause that says something specific. */
    static String sslCause(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            String message = String.valueOf(cause.getMessage());
            if (cause instanceof CertificateExpiredException) {
                return "the broker's certificate has expired (" + message + ")";
            }
            if (cause instanceof CertPathBuilderException || cause instanceof CertPathValidatorException
                || message.contains("PKIX path") || message.contains("unable to find valid certification path")) {
                return "unknown CA: the broker's certificate is not signed by a CA in the truststore";
            }
            if (cause instanceof CertificateException
                && (message.contains("No subject alternative") || message.contains("No name matching"))) {
                return "hostname mismatch: the broker's certificate does not name the address connected to ("
                    + message + ")";
            }
            if (cause instanceof SSLHandshakeException && message.startsWith("Received fatal alert: ")) {
                String alert = message.substring("Received fatal alert: ".length()).trim();
                if (CLIENT_CERTIFICATE_ALERTS.contains(alert)) {
                    return "the broker rejected the client certificate (TLS alert " + alert + ")";
                }
                return "the broker ended the handshake (TLS alert " + alert + ")";
            }
        }
        return withRootCause(error);
    }

    /** The message, and the innermost cause's when it adds something (Kafka's wrappers often do not). */
    static String withRootCause(Throwable error) {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String outer = text(error);
        if (root == error) {
            return outer;
        }
        String inner = text(root);
        return outer.contains(inner) ? outer : outer + " (caused by " + inner + ")";
    }

    private static String text(Throwable error) {
        String message = error.getMessage();
        String name = error.getClass().getSimpleName();
        return message == null || message.isBlank() ? name : name + ": " + firstLine(message);
    }

    private static String firstLine(String message) {
        int end = message.indexOf('\n');
        return (end < 0 ? message : message.substring(0, end)).trim();
    }
}
