"""The comparison harness behind bench/compare (see bench/README.md)."""
