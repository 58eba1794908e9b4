"""Dataset files: where they are, how they are read, what is wrong with them."""
