"""Workload sources: the load test's throughput and latency (Prometheus endpoints, k6, locust)."""
