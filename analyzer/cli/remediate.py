"""The rules each device needs: Squid, PAN-OS and Windows Firewall, from a check's outputs.

  analyzer remediate OUTDIR [--device squid|paloalto|winfirewall] [--server NAME] [--site SITE.toml] [-o DIR]

Reads OUTDIR/findings.json and OUTDIR/flows.parquet (no log is read again). For each device that
logged a decision about the update servers, prints the rules that fix this run's
blocked-required findings and the complete rule set the site's policy needs; -o DIR writes them
as files instead (the layout of OUTDIR/remediation/, which 'analyzer check' writes too).
"""

from __future__ import annotations

from pathlib import Path

from ..remediation import DEVICES


def add_arguments(parser) -> None:
    parser.add_argument("outdir", metavar="OUTDIR", help="the output folder of 'analyzer check -o OUTDIR'")
    parser.add_argument("--device", choices=tuple(DEVICES), help="only this kind of device")
    parser.add_argument("--server", metavar="NAME", help="only the rules of this update server")
    parser.add_argument("--site", metavar="SITE.toml", help="the site file (default: the one the check used)")
    parser.add_argument("-o", "--output", metavar="DIR", help="write the files into DIR instead of printing them")


def run(args) -> int:
    from ..outdir import load_outdir
    from ..remediation import remediation_files

    recorded = load_outdir(args.outdir, site=args.site)
    # Printed, the Markdown index is left out (it is for the folder, and loads the report package).
    files = remediation_files(
        recorded.findings,
        recorded.flows,
        recorded.policy,
        device=args.device,
        server=args.server,
        index=bool(args.output),
    )
    if args.output:
        for rel, text in files.items():
            path = Path(args.output) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        print(f"written: {len(files)} files into {args.output}")
        return 0
    if not files or list(files) == ["README.md"]:
        print("no device logged a decision about the update servers; --device NAME gives its rules anyway")
        return 0
    # Every generated line is printable ASCII (log text in comments is reduced to it), so the
    # files print as they are.
    for rel, text in files.items():
        print(f"==> {rel} <==\n{text}")
    return 0
