"""Brownlee (2017): an MLP learning the sequence 0.0..0.9 (x -> x + 0.1)."""
