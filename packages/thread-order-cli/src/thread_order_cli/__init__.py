"""tdrun: the dependency-aware, parallel test runner built on thread_order."""
