"""Lookups against `featurestore serve` in a background thread, with urllib, recorded as
HTTP gave them (the checker judges them; no featurestore import here)."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request

from tests.soak.record import Lookup, SoakRecord

FEATURES = "user_profile:kyc_level,user_profile:country,user_transactions:txn_count_7d"


class Lookups(threading.Thread):
    """GET /v1/features/user/{id} every ``every`` seconds until stopped."""

    def __init__(self, record: SoakRecord, base_url: str, users: list[int], seed: int,
                 every: float = 0.1):
        super().__init__(name="soak-lookups", daemon=True)
        self.record, self.base_url, self.users = record, base_url, users
        self.random, self.every = random.Random(seed), every
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.record.lookups.append(self.one(self.random.choice(self.users)))
            self.stopping.wait(self.every)

    def one(self, user_id: int) -> Lookup:
        url = f"{self.base_url}/v1/features/user/{user_id}?features={FEATURES}"
        started = time.time()
        try:
            with urllib.request.urlopen(url, timeout=120) as answer:
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
        except OSError as exc:  # no answer at all: the server died or hung
            return Lookup(started, time.time(), 0, {"error": repr(exc)}, user_id)
        try:
            body = json.loads(text)
        except ValueError:
            body = {"unparsed": text[:300].decode(errors="replace")}
        return Lookup(started, time.time(), status, body, user_id)

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=180)
