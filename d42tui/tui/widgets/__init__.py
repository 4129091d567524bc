"""Console widgets: one per module; each renders state it is given and does no I/O."""
