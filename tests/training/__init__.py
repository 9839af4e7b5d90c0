"""Tests of skgd.training."""
