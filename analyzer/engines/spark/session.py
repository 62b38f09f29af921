"""Finding PySpark and Java, and the SparkSession the CLI starts (a notebook brings its own)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import warnings
from pathlib import Path

from ...errors import AnalyzerError

JAVA_PACKAGE = "default-jre-headless"
"""The Debian package that gives Spark a Java runtime (Java 17 on Debian 12; ``openjdk-17-jre-headless`` works too)."""

DEFAULT_CONF = {
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.showConsoleProgress": "false",
}
"""What the CLI's session starts with; ``--spark-conf KEY=VALUE`` overrides any of them."""


def require_pyspark() -> None:
    """Raise a one-line error when pyspark is not installed."""
    if importlib.util.find_spec("pyspark") is None:
        raise AnalyzerError("the Spark engine needs PySpark: pip install 'analyzer[spark]'")


def java_home() -> str | None:
    """Where a Java runtime is: JAVA_HOME when it holds ``bin/java``, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return home
    found = shutil.which("java")
    return str(Path(found).resolve().parent.parent) if found else None


def require_java() -> None:
    """Raise a one-line error when no Java runtime is found (Spark's JVM needs one)."""
    if java_home() is None:
        raise AnalyzerError(
            f"the Spark engine needs a Java runtime (17 or later): apt-get install {JAVA_PACKAGE}, or set JAVA_HOME"
        )


def parse_conf(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` texts as a dict; a text without ``=`` is a one-line error."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise AnalyzerError(f"--spark-conf '{item}': expected KEY=VALUE, e.g. spark.executor.memory=4g")
        out[key.strip()] = value
    return out


def start(master: str | None = None, conf: dict[str, str] | None = None, app: str = "analyzer check"):
    """A SparkSession for the CLI: ``master`` (default ``local[2]``, or what spark-submit set) and
    :data:`DEFAULT_CONF` with ``conf`` over it. Executors run this Python (``PYSPARK_PYTHON``)."""
    require_pyspark()
    require_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    settings = dict(DEFAULT_CONF)
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:  # spark-submit sets the master
        master = "local[2]"
    if master and master.startswith("local"):  # nothing to reach from outside: listen on loopback
        settings |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    if master:
        builder = builder.master(master)
    for key, value in {**settings, **(conf or {})}.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():  # pyspark warns about pandas 3, which this engine does not use
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def check_in_session(master: str | None, conf_items: list[str]):
    """:func:`~analyzer.engines.spark.check_spark` bound to a session of its own, started from
    ``master`` and ``KEY=VALUE`` settings (``--spark-master``/``--spark-conf``) when the check
    starts and stopped when it ends. A bad setting fails now, before any work."""
    conf = parse_conf(conf_items)

    def check(*args, **kwargs):
        from .engine import check_spark

        spark = start(master, conf)
        try:
            return check_spark(spark, *args, **kwargs)
        finally:
            spark.stop()

    return check
