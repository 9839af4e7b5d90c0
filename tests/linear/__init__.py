"""Tests of skgd.linear."""
