"""The local runtime: two single-node KRaft Kafka clusters and Kafka Connect workers on 127.0.0.1.

`python -m localkafka up|down|status`. Built from the same pom, worker-properties renderer and
entrypoint script as the container image, so what passes here runs the same code as on EKS.
"""
