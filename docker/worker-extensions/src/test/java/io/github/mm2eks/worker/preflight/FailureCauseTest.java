package io.github.mm2eks.worker.preflight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.junit.jupiter.api.Test;

import java.security.cert.CertificateException;

import javax.net.ssl.SSLHandshakeException;

class FailureCauseTest {

    private static SslAuthenticationException handshake(Throwable cause) {
        SslAuthenticationException error = new SslAuthenticationException("SSL handshake failed");
        error.initCause(cause);
        return error;
    }

    private static SSLHandshakeException sslHandshake(String message, Throwable cause) {
        SSLHandshakeException error = new SSLHandshakeException(message);
        if (cause != null) {
            error.initCause(cause);
        }
        return error;
    }

    @Test
    void anUnknownCaIsNamed() {
        Throwable error = handshake(sslHandshake("PKIX path building failed: "
            + "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path "
            + "to requested target", null));
        assertEquals("SSL handshake failed: unknown CA: the broker's certificate is not signed by a CA in the "
            + "truststore", FailureCause.describe(error));
    }

    @Test
    void aHostnameMismatchQuotesTheJdk() {
        Throwable error = handshake(sslHandshake("No subject alternative names matching IP address 127.0.0.2 found",
            new CertificateException("No subject alternative names matching IP address 127.0.0.2 found")));
        String cause = FailureCause.describe(error);
        assertTrue(cause.startsWith("SSL handshake failed: hostname mismatch: "), cause);
        assertTrue(cause.contains("127.0.0.2"), cause);
    }

    @Test
    void anAlertAboutTheClientCertificateBlamesTheClientCertificate() {
        for (String alert : new String[] {"bad_certificate", "certificate_unknown", "certificate_required"}) {
            Throwable error = handshake(sslHandshake("Received fatal alert: " + alert, null));
            assertEquals("SSL handshake failed: the broker rejected the client certificate (TLS alert " + alert + ")",
                FailureCause.describe(error));
        }
        Throwable other = handshake(sslHandshake("Received fatal alert: protocol_version", null));
        assertEquals("SSL handshake failed: the broker ended the handshake (TLS alert protocol_version)",
            FailureCause.describe(other));
    }

    @Test
    void aSaslFailureSaysAuthenticationFailed() {
        Throwable error = new SaslAuthenticationException("Authentication failed during authentication due to "
            + "invalid credentials with SASL mechanism SCRAM-SHA-512");
        assertEquals("authentication failed: SaslAuthenticationException: Authentication failed during "
            + "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512", FailureCause.describe(error));
    }

    @Test
    void theRootCauseIsAddedWhenTheWrapperHidesIt() {
        Throwable error = new KafkaException("Failed to create new KafkaAdminClient",
            new KafkaException("javax.security.auth.login.LoginException: No LoginModule found for com.example.Nope"));
        assertEquals("KafkaException: Failed to create new KafkaAdminClient (caused by KafkaException: "
            + "javax.security.auth.login.LoginException: No LoginModule found for com.example.Nope)",
            FailureCause.withRootCause(error));
    }
}
