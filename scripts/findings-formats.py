#!/usr/bin/env python3
"""Proof that `check --format ocsf` and `check --format junit` are what their consumers
read.

1. OCSF: every Detection Finding that `vpce-audit check --format ocsf` writes is
   validated with py-ocsf-models (the OCSF models Prowler maintains, schema 1.5.0):
   it must build the model, and the model written back must be the finding itself,
   so no field is unknown to the schema, mistyped or coerced. Class, category and type
   ids must agree (type_uid = class_uid * 100 + activity_id).
2. JUnit: the XML parses (Python's xml module) and is read by junitparser as CI
   systems read it: one test case per rule (its evidence) and per rule and bucket,
   failures where the check fails, the counts in the attributes equal to the cases.

The logs are made here: the blog post's sample logs plus a file with a request denied
through the endpoint, a bad signature and a blocked attempt; the rules include a typo
(no evidence), and the blog post's bucket policy is cross-checked (contradictions).

Run by scripts/test.sh inside the venv it creates (pinned wheels). Prints
`N passed, M failed` last and exits 1 on any failure.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from junitparser import Failure, JUnitXml
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWNER = "5a2e4c8f0b1d3e6f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f"
ROLE = "arn:aws:sts::111122223333:assumed-role/ec2-s3-reader/i-0a1b2c3d4e5f67890"


def line(time, ip, requester, status, code, request_id):
    return (
        f"{OWNER} shared-data-prod [09/May/2022:{time} +0000] {ip} {requester} {request_id} "
        f"REST.GET.OBJECT exports/part-0000.parquet \"GET /shared-data-prod/exports/part-0000.parquet "
        f"HTTP/1.1\" {status} {code} 243 - 11 - \"-\" \"aws-cli/2.7.0\" - hostid= SigV4 "
        f"TLS_AES_128_GCM_SHA256 AuthHeader shared-data-prod.s3.ap-northeast-2.amazonaws.com TLSv1.3 - -\n"
    )


def logs(tmp):
    """The sample logs and a file of denials, in a folder of their own."""
    folder = os.path.join(tmp, "logs")
    shutil.copytree(os.path.join(ROOT, "testdata", "logs"), folder)
    with open(os.path.join(folder, "2022-05-09-11-10-00-DENIALS"), "w") as f:
        f.write(line("11:05:10", "10.0.3.57", ROLE, 403, "AccessDenied", "PRIVDENIED1"))
        f.write(line("11:07:00", "198.51.100.99", "-", 403, "SignatureDoesNotMatch", "BADSIG1"))
        f.write(line("11:08:00", "52.79.54.241", ROLE, 403, "AccessDenied", "BLOCKED1"))
    return folder


def run(binary, fmt, folder, extra=()):
    args = [
        binary, "check", "--format", fmt,
        "--require-private", "shared-data-*", "--require-private", "team-reprots",
        "--bucket-policy", os.path.join(ROOT, "testdata", "policies", "blog-post.json"),
        *extra, folder,
    ]
    out = subprocess.run(args, capture_output=True, env={**os.environ, "VPCE_AUDIT_NOW": "2022-05-10T00:00:00Z"})
    if out.returncode != 1:
        raise AssertionError(f"{' '.join(args)}: exit {out.returncode}, want 1\n{out.stderr.decode()}")
    return out.stdout


def check_ocsf(binary, folder, results):
    findings = json.loads(run(binary, "ocsf", folder, ["--fail-on-private-denied"]))
    types = {}
    for f in findings:
        model = DetectionFinding.model_validate(f)
        back = model.model_dump(mode="json", exclude_unset=True)
        results.append((f"OCSF {f['finding_info']['uid']} round-trips through the model", back == f,
                        json.dumps({"written": f, "model": back}, indent=1)[:2000]))
        ids = (f["class_uid"], f["category_uid"], f["type_uid"])
        results.append((f"OCSF {f['finding_info']['uid']} ids", ids == (2004, 2, 2004 * 100 + f["activity_id"]), str(ids)))
        for t in f["finding_info"]["types"]:
            types[t] = types.get(t, 0) + 1
    want = {"no_evidence": 1, "private_denied": 2, "violation": 5, "contradiction": 5,
            "blocked": 4, "rejected": 1}
    results.append(("OCSF: one finding per finding, violation, contradiction and attempt",
                    types == want, f"{types} != {want}"))
    by_request = {f["api"]["request"]["uid"]: f for f in findings if "api" in f and "request" in f["api"]}
    rejected = by_request.get("BADSIG1")
    results.append(("OCSF: the rejected attempt carries its request id, error code and address",
                    rejected is not None
                    and rejected["api"]["response"] == {"code": 403, "error": "SignatureDoesNotMatch"}
                    and {"name": "remote_ip", "type_id": 2, "type": "IP Address", "value": "198.51.100.99"} in rejected["observables"],
                    json.dumps(rejected)))


def check_junit(binary, folder, tmp, results):
    text = run(binary, "junit", folder)
    root = ET.fromstring(text)
    results.append(("JUnit: the root is <testsuites>", root.tag == "testsuites", root.tag))
    path = os.path.join(tmp, "junit.xml")
    with open(path, "wb") as f:
        f.write(text)
    xml = JUnitXml.fromfile(path)
    cases = [(suite.name, case.classname, case.name, [r for r in case.result if isinstance(r, Failure)])
             for suite in xml for case in suite]
    names = [(c, n) for _, c, n, _ in cases]
    want = [("inputs", "readable"), ("rule shared-data-*", "evidence"),
            ("rule shared-data-*", "shared-data-prod"), ("rule team-reprots", "evidence")]
    results.append(("JUnit: one test case per rule and per rule and bucket", names == want, f"{names}"))
    failed = [(c, n, [f.type for f in fs]) for _, c, n, fs in cases if fs]
    want_failed = [("rule shared-data-*", "shared-data-prod", ["violation", "contradiction"]),
                   ("rule team-reprots", "evidence", ["no_evidence"])]
    results.append(("JUnit: failures where the check fails", failed == want_failed, f"{failed}"))
    suite = next(iter(xml))
    results.append(("JUnit: the counts agree with the cases",
                    (suite.tests, suite.failures, suite.errors) == (len(cases), len(failed), 0)
                    and root.get("tests") == str(len(cases)) and root.get("failures") == str(len(failed)),
                    f"{suite.tests} {suite.failures} {suite.errors} / {root.attrib}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="the vpce-audit binary")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = logs(tmp)
        for check in (lambda: check_ocsf(args.bin, folder, results),
                      lambda: check_junit(args.bin, folder, tmp, results)):
            try:
                check()
            except Exception as e:  # a crash is a failure with its reason, not an abort
                results.append((f"{check.__name__}: {type(e).__name__}", False, str(e)[:2000]))
    failed = [r for r in results if not r[1]]
    for name, _, detail in failed:
        print(f"FAIL {name}\n  {detail}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
