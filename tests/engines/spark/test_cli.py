"""``analyzer check --engine spark`` end to end: through a real standalone master and worker
started from the PySpark installation on 127.0.0.1 (executors in their own JVM and Python
workers: nothing shared with the driver's memory), byte-identical outputs to the local engine;
the one-line errors when PySpark or Java is missing; pyspark never imported otherwise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SAMPLES

pytestmark = pytest.mark.spark

SITE = str(SAMPLES / "site.toml")
BIN = Path(sys.executable).parent
IDENTICAL = ("findings.json", "findings.csv", "coverage.csv", "findings.ocsf.json", "report.md", "report.html")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(log: Path, text: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not seen in {log}:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def standalone(need_spark, tmp_path_factory):
    """A standalone master and one worker (1 core, 512 MiB) on 127.0.0.1; both stopped after."""
    from pyspark.find_spark_home import _find_spark_home

    spark_class = Path(_find_spark_home()) / "bin" / "spark-class"
    logs = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_MEMORY": "256m", "PYSPARK_PYTHON": sys.executable}
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    started: list[subprocess.Popen] = []

    def run(name: str, *args: str) -> tuple[subprocess.Popen, Path]:
        log = logs / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(spark_class), *args], stdout=out, stderr=subprocess.STDOUT, env=env)
        started.append(proc)
        return proc, log

    try:
        master, master_log = run(
            "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
            "--webui-port", str(_free_port()),
        )  # fmt: skip
        _wait_for(master_log, "I have been elected leader", master)
        worker, worker_log = run(
            "worker", "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1",
            "--memory", "768m", "--webui-port", str(_free_port()),
        )  # fmt: skip
        _wait_for(worker_log, "Successfully registered with master", worker)
        yield url
    finally:
        for proc in reversed(started):
            proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _analyzer(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "analyzer"), *args], capture_output=True, text=True, env=env or os.environ, timeout=900
    )


def test_check_through_a_standalone_cluster_matches_local(standalone, tmp_path):
    local = _analyzer("check", str(SAMPLES), "--site", SITE, "-o", str(tmp_path / "local"), "-q")
    conf = ["spark.driver.host=127.0.0.1", "spark.driver.bindAddress=127.0.0.1", "spark.executor.memory=512m"]
    conf += ["spark.cores.max=1"]
    args = ["check", str(SAMPLES), "--site", SITE, "-o", str(tmp_path / "spark"), "-q", "--engine", "spark"]
    args += ["--spark-master", standalone, *(x for c in conf for x in ("--spark-conf", c))]
    got = _analyzer(*args)
    assert got.returncode == local.returncode == 1, got.stderr[-3000:]
    for name in IDENTICAL:
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    # The remediation writer reads the flows: from the flows dataset here, with the same rules.
    rules = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local" / "remediation").rglob("*"))
    assert rules and rules == sorted(
        p.relative_to(tmp_path / "spark") for p in (tmp_path / "spark" / "remediation").rglob("*")
    )
    for rel in rules:
        if (tmp_path / "local" / rel).is_file():
            assert (tmp_path / "spark" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
    flows = pl.scan_parquet(tmp_path / "spark" / "flows" / "**" / "*.parquet", hive_partitioning=True).collect()
    summary = json.loads((tmp_path / "local" / "findings.json").read_text())["summary"]
    assert flows.height == sum(summary.values())
    assert sorted(p.name for p in (tmp_path / "spark" / "flows").glob("day=*"))[0] == "day=2026-11-02"


def test_spark_submit_runs_the_readme_job_file(standalone, tmp_path):
    # The README's recipe: a two-line job file, the master given to spark-submit, not to analyzer.
    job = tmp_path / "job.py"
    job.write_text("from analyzer.__main__ import main\n\nmain()\n", encoding="utf-8")
    logs = str(SAMPLES / "squid")
    local = _analyzer("check", logs, "--site", SITE, "-o", str(tmp_path / "local"), "-q")
    conf = ["spark.driver.host=127.0.0.1", "spark.driver.bindAddress=127.0.0.1", "spark.executor.memory=512m"]
    conf += ["spark.cores.max=1"]
    submit = [str(BIN / "spark-submit"), "--master", standalone, *(x for c in conf for x in ("--conf", c)), str(job)]
    args = ["check", logs, "--site", SITE, "-o", str(tmp_path / "spark"), "-q", "--engine", "spark"]
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "PYSPARK_PYTHON": sys.executable}
    got = subprocess.run([*submit, *args], capture_output=True, text=True, env=env, timeout=900)
    assert got.returncode == local.returncode, got.stderr[-3000:]
    assert (tmp_path / "spark" / "findings.json").read_bytes() == (tmp_path / "local" / "findings.json").read_bytes()
    assert list((tmp_path / "spark" / "flows").glob("day=*"))


def _without(tmp_path: Path, hide: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "PYTHONPATH")}
    if hide == "java":
        # A PATH of this Python and the basic tools, but no java.
        tools = tmp_path / "bin"
        tools.mkdir()
        for tool in ("sh", "env", "uname", "dirname", "basename", "readlink"):
            if os.path.exists(f"/usr/bin/{tool}"):
                (tools / tool).symlink_to(f"/usr/bin/{tool}")
        env["PATH"] = f"{BIN}:{tools}"
    else:  # pyspark: a sitecustomize that hides it from the import system
        site = tmp_path / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text("import sys\nsys.modules['pyspark'] = None\n")
        env["PYTHONPATH"] = str(site)
    return env


@pytest.mark.parametrize(
    ("hide", "message"),
    [
        ("java", "the Spark engine needs a Java runtime (17 or later): apt-get install default-jre-headless"),
        ("pyspark", "the Spark engine needs PySpark: pip install 'analyzer[spark]'"),
    ],
)
def test_missing_java_or_pyspark_is_one_line(hide, message, tmp_path):
    args = ["check", str(SAMPLES), "--site", SITE, "-o", str(tmp_path / "out"), "--engine", "spark"]
    got = _analyzer(*args, env=_without(tmp_path, hide))
    assert got.returncode == 2
    assert (
        got.stderr.strip().splitlines() == [f"analyzer: error: {message}, or set JAVA_HOME"]
        if hide == "java"
        else [f"analyzer: error: {message}"]
    )


def test_spark_options_need_the_spark_engine(tmp_path):
    got = _analyzer("check", str(SAMPLES), "--site", SITE, "-o", str(tmp_path), "--spark-master", "local[1]")
    assert got.returncode == 2
    assert got.stderr.strip() == "analyzer: error: --spark-master and --spark-conf need --engine spark"


def test_bad_spark_conf_is_one_line(tmp_path):
    got = _analyzer(
        "check", str(SAMPLES), "--site", SITE, "-o", str(tmp_path), "--engine", "spark", "--spark-conf", "x"
    )
    assert got.returncode == 2
    assert got.stderr.strip() == "analyzer: error: --spark-conf 'x': expected KEY=VALUE, e.g. spark.executor.memory=4g"


def test_import_and_local_check_do_not_import_pyspark(tmp_path):
    code = (
        "import sys, analyzer, analyzer.engines.spark\n"
        "from analyzer.pipeline.check import run_check\n"
        f"run_check([{str(SAMPLES)!r}], {SITE!r})\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')], 'pyspark imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
