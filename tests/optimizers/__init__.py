"""Tests of skgd.optimizers."""
