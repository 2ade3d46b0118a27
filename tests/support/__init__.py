"""What tests (and benchmarks) build bots and messages with."""
