"""Benchmarks of the platform (not tests): run them as ``python -m benchmarks.<name>``."""
