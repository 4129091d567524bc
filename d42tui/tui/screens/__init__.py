"""Console screens: the pair board, the many-pairs list, help, and small modal dialogs."""
