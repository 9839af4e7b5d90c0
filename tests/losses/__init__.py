"""Tests of skgd.losses."""
