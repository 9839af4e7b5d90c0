"""Benchmarks of skgd against scikit-learn: ``python -m benchmarks.run``."""
