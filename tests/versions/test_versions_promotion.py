"""Lookups answered while a view is promoted and rolled back again and again: every
answer is one version of the view, for every key of it, and says which."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

from tests.versions.test_versions_scenario import SHARED, V1_ONLY, V2_ONLY, VIEW, Server
from tests.waiting import wait_until


def post(url: str, keys: list[int]) -> dict:
    body = json.dumps({"entity": "user", "keys": [{"user_id": k} for k in keys],
                       "features": [VIEW]}).encode()
    request = urllib.request.Request(f"{url}/v1/features/retrieve", data=body,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_no_answer_mixes_versions_during_promotions(world):
    from featurestore.apps.versions import promote, rollback

    world.add_version_2()
    for args in (("build",), ("apply",), ("backfill", VIEW, "--version", "2")):
        result = world.cli(*args)
        assert result.exit_code == 0, (args, result.output)
    server = Server(world)
    server.app.versions.clock = time.monotonic
    server.app.versions.refresh_s = 0.005
    keys = [row[0] for row in world.sql("select distinct user_id from "
                                        "main.fs_user__transactions order by 1 limit 20")]
    answers: list[dict] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            answers.append(post(server.url, keys))

    def served(version: int) -> None:
        """Wait until an answer received after this call serves ``version``."""
        since = len(answers)
        wait_until(lambda: any(a["versions"][VIEW] == version for a in answers[since:]),
                   f"an answer of v{version} after the flip ({len(answers)} answers)")

    threads = [threading.Thread(target=client) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for _ in range(3):  # each flip is seen by the clients before the next one
            promote(world.project, VIEW, 2, reason="flip")
            served(2)
            rollback(world.project, VIEW, reason="flop")
            served(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        server.close()
    versions = {1: SHARED | V1_ONLY, 2: SHARED | V2_ONLY}
    seen = set()
    for answer in answers:
        served = answer["versions"][VIEW]
        seen.add(served)
        for row in answer["results"]:
            assert {name.split(":", 1)[1] for name in row["features"]} == versions[served]
    assert seen == {1, 2}, f"{len(answers)} answers, all of version(s) {seen}"
