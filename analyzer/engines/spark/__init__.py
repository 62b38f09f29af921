"""The Spark engine: the same check, its batch function and merge run in Spark tasks.

Importing this package does not import pyspark; :func:`check_spark` needs a SparkSession, and
:func:`start` makes one (local[2] by default) after checking that PySpark and Java are there.

Example (a notebook with ``spark``)::

    from analyzer.engines.spark import check_spark
    result = check_spark(spark, ["/dbfs/logs/squid"], "/dbfs/site.toml", output="/dbfs/out")
"""

from .engine import MAX_INDEX_BYTES, SparkCheckResult, check_spark
from .session import require_java, require_pyspark, start

__all__ = ["MAX_INDEX_BYTES", "SparkCheckResult", "check_spark", "require_java", "require_pyspark", "start"]
