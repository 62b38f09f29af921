"""Every registered parser against every sample of its format in data/samples/<name>/.

The parser must recognise its own samples, account for every line (records + rejects +
skipped == lines), produce records of its kind's schema, and no other parser may claim the file.
Its records and rejects must equal ``tests/golden/parsers/<format>/<sample>.{flows,rejects}.csv``
(``make goldens`` writes them). New parsers are picked up from the registry; their samples from
the folder named like them.
"""

from __future__ import annotations

import polars as pl
import pytest

from analyzer.flows import EVIDENCE_SCHEMA, FLOW_SCHEMA
from analyzer.parsers import REGISTRY
from analyzer.parsers.base import ParseOptions
from analyzer.pipeline.read import read_logs
from analyzer.sources import SourceFile, read_head
from tests.conftest import ROOT, SAMPLES

NOT_LOGS = {".md", ".txt", ".toml", ".json", ".yaml", ".yml"}
"""Documentation and expected-result files that may sit beside samples."""


def _cases():
    for name in REGISTRY:
        folder = SAMPLES / name
        files = (
            sorted(
                p for p in folder.rglob("*") if p.is_file() and p.suffix not in NOT_LOGS and not p.name.startswith(".")
            )
            if folder.is_dir()
            else []
        )
        if not files:
            yield pytest.param(name, None, id=f"{name}-no-samples")
        for path in files:
            yield pytest.param(name, path, id=f"{name}-{path.relative_to(folder)}")


SCHEMAS = {"flows": FLOW_SCHEMA, "dns": EVIDENCE_SCHEMA}
"""The records' schema of each parser kind."""


@pytest.mark.parametrize(("name", "path"), list(_cases()))
def test_parser_reads_its_samples_and_only_its_own(name, path, golden):
    assert path is not None, f"every registered format needs samples in data/samples/{name}/"
    parser = REGISTRY[name]
    head = read_head(SourceFile(path=path, name=str(path)))
    options = ParseOptions()
    assert parser.sniff(head, options), f"{name} does not recognise its own sample {path.name}"
    claimed = [other for other, p in REGISTRY.items() if other != name and p.sniff(head, options)]
    assert not claimed, f"{path.name} is also claimed by {claimed}"

    result = read_logs([str(path)])
    (summary,) = result.files
    assert summary.format == name
    assert summary.lines > 0
    assert summary.lines == summary.records + summary.rejects + summary.skipped_total
    assert summary.records > summary.rejects, "malformed lines must stay a minority of a sample"
    records = result.flows if parser.kind == "flows" else result.evidence.get(parser.kind)
    assert records is not None and records.height == summary.records
    assert records.schema == SCHEMAS[parser.kind]
    assert set(records["line_no"].to_list()).isdisjoint(result.rejects["line_no"].to_list())
    # The file named as the repository names it, so goldens do not depend on the checkout's place.
    where = pl.col("source_file").str.replace(str(ROOT) + "/", "", literal=True)
    sample = path.relative_to(SAMPLES / name)
    golden(f"parsers/{name}/{sample}.{parser.kind}.csv", records.with_columns(where))
    golden(f"parsers/{name}/{sample}.rejects.csv", result.rejects.with_columns(where))
