"""Developer programs, not installed: benchmarks (`python -m tools.bench`), the load test,
overhead probes. Run them from a checkout; the package never imports them."""
