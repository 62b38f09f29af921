"""Engines that run the check's batch function and merge: the local one is
:func:`analyzer.check.run_check`; :mod:`analyzer.engines.spark` runs it in Spark tasks."""
