"""Benchmarks: mirroring throughput and latency against raw Kafka and stock settings, and program scaling.

`python -m bench` (or `make bench`); `--smoke` runs every part small, to check the harness works.
"""
