"""One Spark session for the Spark engine's tests: local[2], no UI, few partitions, 1 GiB."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from analyzer.engines.spark.session import java_home


def spark_available() -> str | None:
    """Why the Spark tests cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if java_home() is None:
        return "no Java runtime (apt-get install default-jre-headless)"
    return None


def _need_spark() -> None:
    missing = spark_available()
    if missing:
        if os.environ.get("CI"):  # .ci/run installs both: their absence is a failure there
            pytest.fail(missing)
        pytest.skip(missing)


@pytest.fixture(scope="session")
def spark():
    _need_spark()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from analyzer.engines.spark import start

    session = start(
        "local[2]",
        {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2", "spark.python.worker.reuse": "true"},
        app="analyzer tests",
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def need_spark():
    _need_spark()
