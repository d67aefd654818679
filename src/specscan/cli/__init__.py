"""The `specscan` command line: thin commands over the library."""
