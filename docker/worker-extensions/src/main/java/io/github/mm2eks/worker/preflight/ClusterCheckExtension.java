package io.github.mm2eks.worker.preflight;

import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.connect.rest.ConnectRestExtension;
import org.apache.kafka.connect.rest.ConnectRestExtensionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;

/**
 * Registers {@link ClusterCheckResource} in every worker: the pre-flight check that {@code pulumi preview} and
 * {@code pulumi up} run before a connector is created, so that a wrong password, truststore, client certificate or
 * address fails the preview with its cause instead of a task that goes FAILED minutes later.
 *
 * <p>A REST extension because the check must run where the connector's tasks will run: with the worker's network
 * (VPC peering, security groups) and the worker's mounted secrets, resolved by the worker's config providers.
 */
public final class ClusterCheckExtension implements ConnectRestExtension {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterCheckExtension.class);

    private ClusterCheck check;

    @Override
    public void configure(Map<String, ?> workerConfig) {
        check = new ClusterCheck(ClusterCheck.providerSettings(workerConfig));
        LOG.info("Cluster check ready at PUT /mm2-eks/clusters/check, resolving references with config providers {}",
            check.providerNames());
    }

    @Override
    public void register(ConnectRestExtensionContext context) {
        if (check == null) {
            throw new IllegalStateException("ClusterCheckExtension.register called before configure");
        }
        context.configurable().register(new ClusterCheckResource(check));
    }

    @Override
    public String version() {
        return AppInfoParser.getVersion();
    }

    @Override
    public void close() {
        // Nothing held between requests: each check closes its own client.
    }
}
