"""The benchmark harness: suites, units of work, result store, executors."""
