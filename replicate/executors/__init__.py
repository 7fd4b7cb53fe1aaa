"""Where repeats run: in this process (serial), in local worker processes, or on a Ray cluster."""
