/**
 * What mm2-eks runs inside each Kafka Connect worker: Connect REST extensions (listed in the
 * worker's {@code rest.extension.classes}) and the small Kafka tools the operator commands run
 * with the worker's own jars, network and credentials. One sub-package per concern.
 */
package io.github.mm2eks.worker;
