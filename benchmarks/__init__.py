"""Benchmarks of the bot: `make bench` (python -m benchmarks) runs them all; see README.md, "Performance"."""
