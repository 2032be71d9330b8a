"""Stage batch: the worker pool and the shared limits (spacing, backoff, circuit breaker)."""
