"""What dbt's last build said about each node: ``target/run_results.json`` read back.

A failed ``dbt build`` is data, not only an exit code: which models were rebuilt, which
were skipped, which tests failed and on which model. The loop reads it after each build
to know which feature views got a new state, which of those a dbt test refused (the
verdict is then kept with the state: gates/verdicts.py), and which source tables' landed
files really reached their models (pending work is cleared only by a build that
succeeded). A test is mapped to the model it tests through the manifest: its
``attached_node`` (a generic test on a model or a column), else the models it
``depends_on``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from featurestore.project import Project

# dbt's statuses: a model "success" | "error" | "skipped"; a test "pass" | "warn" | "fail" |
# "error" | "skipped"
BUILT = "success"
TEST_PASSED = frozenset({"pass", "warn"})
MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    message: str = ""
    failures: int | None = None


@dataclass
class BuildResults:
    """One dbt invocation's results, and the manifest that names its nodes."""

    generated_at: dt.datetime
    nodes: dict[str, NodeResult]
    manifest: dict = field(default_factory=dict, repr=False)

    def built(self, model_uid: str) -> bool:
        """Whether the model ran and succeeded in this invocation (a new state)."""
        result = self.nodes.get(model_uid)
        return result is not None and result.status == BUILT

    def ran(self, uid: str) -> bool:
        return uid in self.nodes

    def tests_of(self, model_uid: str) -> list[NodeResult]:
        """The results of the tests of ``model_uid`` that ran in this invocation."""
        return [result for uid, result in self.nodes.items()
                if uid.startswith("test.") and model_uid in tested_models(self.manifest, uid)]

    def failing_tests(self, model_uid: str) -> list[str]:
        """One line per test of ``model_uid`` that failed or errored, naming the test and
        what dbt said (bounded: a message may quote data)."""
        lines = []
        for result in self.tests_of(model_uid):
            if result.status in TEST_PASSED:
                continue
            node = self.manifest.get("nodes", {}).get(result.unique_id, {})
            name = node.get("name") or result.unique_id
            said = " ".join(result.message.split())[:MESSAGE_LIMIT] or result.status
            rows = f" ({result.failures} failing row(s))" if result.failures else ""
            verb = {"fail": "failed", "error": "errored"}.get(result.status, result.status)
            lines.append(f"dbt test {name} {verb}: {said}{rows}")
        return sorted(lines)

    def failed(self) -> list[str]:
        """The nodes that failed or errored (not those skipped because of them)."""
        return sorted(uid for uid, result in self.nodes.items()
                      if result.status not in TEST_PASSED | {BUILT, "skipped"})

    def only_tests_of(self, model_uids: set[str]) -> bool:
        """Whether something failed, and all that failed are tests of ``model_uids``."""
        failed = self.failed()
        return bool(failed) and all(
            uid.startswith("test.") and tested_models(self.manifest, uid) <= model_uids
            for uid in failed)

    def node_ok(self, uid: str) -> bool:
        """A model that was rebuilt and every test of it that ran passed."""
        return self.built(uid) and all(r.status in TEST_PASSED for r in self.tests_of(uid))


def tested_models(manifest: dict, test_uid: str) -> set[str]:
    """The model(s) a test node tests: its ``attached_node``, else every model it
    depends on."""
    node = manifest.get("nodes", {}).get(test_uid) or {}
    attached = node.get("attached_node")
    if attached:
        return {attached}
    return {uid for uid in (node.get("depends_on") or {}).get("nodes", [])
            if uid.startswith("model.")}


def read_run_results(project: Project, manifest: dict,
                     since: dt.datetime | None = None) -> BuildResults | None:
    """The results of the last dbt invocation in the project's target folder; None when
    there are none, they cannot be read, or they were written before ``since`` (naive
    UTC): an older invocation's results never stand for a build that left none."""
    path = project.target_dir / "run_results.json"
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    try:
        generated = dt.datetime.fromisoformat(
            str(document["metadata"]["generated_at"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return None
    if generated.tzinfo is not None:
        generated = generated.astimezone(dt.UTC).replace(tzinfo=None)
    if since is not None and generated < since:
        return None
    nodes = {}
    for item in document.get("results") or []:
        uid = item.get("unique_id")
        if not uid:
            continue
        failures = item.get("failures")
        nodes[uid] = NodeResult(uid, str(item.get("status") or "").lower(),
                                str(item.get("message") or ""),
                                failures if isinstance(failures, int) else None)
    return BuildResults(generated, nodes, manifest)
