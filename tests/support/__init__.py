"""Code the tests, the benchmark and the scripts share; not part of the qa package."""
