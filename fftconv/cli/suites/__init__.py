"""Built-in benchmark suites (TOML files read by ``fftconv bench --suite NAME``)."""
