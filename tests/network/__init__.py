"""Tests of skgd.network."""
