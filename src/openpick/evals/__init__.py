"""Evaluations: suites, assertions, the runner, statistics."""
