"""The pipeline: the only package that orchestrates the stages (reading, checking, streaming to
a file, threads, fast paths, process settings). The CLI and the Python API call it."""
