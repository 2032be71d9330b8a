"""The Message Batches endpoints of the fake Anthropic API.

``POST /v1/messages/batches`` (create), ``GET /v1/messages/batches/{id}``
(retrieve: processing status and request counts), ``GET .../{id}/results``
(JSON lines, one per request, in any order the real API likes; here in
submission order) and ``POST .../{id}/cancel``. A batch takes ``latency``
seconds; its counts progress evenly meanwhile. Results are computed by the
fake's own Messages logic when the batch ends, so notes, usage and prompt-cache
accounting are the same as for direct calls.

Knobs: ``script(match, outcome, times)`` makes requests whose custom_id
contains ``match`` end ``errored``, ``expired`` or ``canceled``. Counters:
``created`` (batches), ``submissions`` (times each custom_id was submitted:
a request paid twice shows as 2).
"""

from __future__ import annotations

import collections
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from tests.fakes.anthropic import FakeAnthropic

__all__ = ["FakeBatches"]

_ROUTE = re.compile(r"^/v1/messages/batches(?:/([^/]+)(?:/(results|cancel))?)?/?$")
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_OUTCOMES = ("errored", "expired", "canceled")


def _stamp(when: datetime | None) -> str | None:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z") if when else None


@dataclass
class _Batch:
    id: str
    requests: list[tuple[str, dict[str, Any]]]
    started: float
    created_at: datetime
    latency: float
    cancel_at: float | None = None
    cancel_initiated_at: datetime | None = None
    ended_at: datetime | None = None
    results: list[dict[str, Any]] | None = None
    outcomes: dict[str, str] = field(default_factory=dict)


class FakeBatches:
    """Message Batches served from the fake's own answers."""

    def __init__(self, fake: "FakeAnthropic", latency: float = 0.0):
        self.fake = fake
        self.latency = latency
        self.batches: dict[str, _Batch] = {}
        self.created = 0
        self.submissions: collections.Counter[str] = collections.Counter()
        self._scripts: list[list[Any]] = []
        self._lock = threading.Lock()

    # -- knobs ------------------------------------------------------------------

    def script(self, match: str, outcome: str, times: int = 1) -> None:
        """End the next ``times`` requests whose custom_id contains ``match`` with ``outcome``."""
        if outcome not in _OUTCOMES:
            raise ValueError(f"outcome must be one of {_OUTCOMES}")
        with self._lock:
            self._scripts.append([match, outcome, times])

    def _scripted(self, custom_id: str) -> str | None:
        for entry in self._scripts:
            if entry[0] in custom_id and entry[2] > 0:
                entry[2] -= 1
                return entry[1]
        return None

    # -- serving ----------------------------------------------------------------

    def handle(self, handler: Any, raw: bytes) -> bool:
        """Answer a /v1/messages/batches request; False when the path is not one of ours."""
        path = handler.path.split("?", 1)[0]
        match = _ROUTE.match(path)
        if not match:
            return False
        from tests.fakes.anthropic import error_body

        if not self.fake.authorised(handler):
            handler.send_json(401, error_body(401, "invalid x-api-key"))
            return True
        batch_id, action = match.group(1), match.group(2)
        method = handler.command
        if batch_id is None and method == "POST":
            self._create(handler, raw)
        elif batch_id is None:
            handler.send_json(405, error_body(405, "listing batches is not faked"))
        elif batch_id not in self.batches:
            handler.send_json(404, error_body(404, f"no message batch {batch_id}"))
        elif action is None and method == "GET":
            handler.send_json(200, self._describe(self.batches[batch_id]))
        elif action == "results" and method == "GET":
            self._results(handler, self.batches[batch_id])
        elif action == "cancel" and method == "POST":
            batch = self.batches[batch_id]
            with self._lock:
                if batch.cancel_at is None and batch.results is None:
                    batch.cancel_at = time.monotonic()
                    batch.cancel_initiated_at = datetime.now(timezone.utc)
            handler.send_json(200, self._describe(batch))
        else:
            handler.send_json(405, error_body(405, f"{method} not allowed on {path}"))
        return True

    def _create(self, handler: Any, raw: bytes) -> None:
        from tests.fakes.anthropic import error_body

        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            handler.send_json(400, error_body(400, "body is not JSON"))
            return
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            handler.send_json(400, error_body(400, "requests: a non-empty list is required"))
            return
        seen: set[str] = set()
        parsed = []
        for item in requests:
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            params = item.get("params") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id) or custom_id in seen:
                handler.send_json(400, error_body(400, f"custom_id {custom_id!r} is invalid or not unique"))
                return
            if not isinstance(params, dict) or params.get("stream"):
                handler.send_json(400, error_body(400, f"{custom_id}: params must be a Messages request "
                                                       "without stream"))
                return
            seen.add(custom_id)
            parsed.append((custom_id, params))
        with self._lock:
            self.created += 1
            batch = _Batch(id=f"msgbatch_fake_{self.created:06d}", requests=parsed, started=time.monotonic(),
                           created_at=datetime.now(timezone.utc), latency=self.latency)
            for custom_id, _ in parsed:
                self.submissions[custom_id] += 1
                outcome = self._scripted(custom_id)
                if outcome:
                    batch.outcomes[custom_id] = outcome
            self.batches[batch.id] = batch
        handler.send_json(200, self._describe(batch))

    # -- state --------------------------------------------------------------------

    def _finish(self, batch: _Batch, now: float) -> None:
        """Under the lock: end the batch, answering what it processed and cancelling the rest."""
        total = len(batch.requests)
        processed = total
        if batch.cancel_at is not None and batch.latency > 0:
            processed = min(total, math.floor(total * (batch.cancel_at - batch.started) / batch.latency))
        results = []
        for index, (custom_id, params) in enumerate(batch.requests):
            outcome = batch.outcomes.get(custom_id) or ("canceled" if index >= processed else None)
            if outcome == "errored":
                result: dict[str, Any] = {"type": "errored", "error": {
                    "type": "error", "request_id": None,
                    "error": {"type": "overloaded_error", "message": "Overloaded (scripted)"}}}
            elif outcome:
                result = {"type": outcome}
            else:
                result = {"type": "succeeded", "message": self.fake.answer_message(params)}
            results.append({"custom_id": custom_id, "result": result})
        batch.results = results
        batch.ended_at = datetime.now(timezone.utc)

    def _describe(self, batch: _Batch) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            if batch.results is None and (batch.cancel_at is not None or now - batch.started >= batch.latency):
                self._finish(batch, now)
            total = len(batch.requests)
            counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
            if batch.results is None:
                done = min(total - 1, math.floor(total * (now - batch.started) / batch.latency)) \
                    if batch.latency > 0 else 0
                counts["succeeded"], counts["processing"] = done, total - done
                status = "canceling" if batch.cancel_at is not None else "in_progress"
            else:
                for item in batch.results:
                    counts[item["result"]["type"]] += 1
                status = "ended"
        return {
            "id": batch.id, "type": "message_batch", "processing_status": status,
            "request_counts": counts,
            "created_at": _stamp(batch.created_at),
            "expires_at": _stamp(batch.created_at + timedelta(hours=24)),
            "ended_at": _stamp(batch.ended_at), "archived_at": None,
            "cancel_initiated_at": _stamp(batch.cancel_initiated_at),
            "results_url": (f"{self.fake.base_url}/v1/messages/batches/{batch.id}/results"
                            if status == "ended" else None),
        }

    def _results(self, handler: Any, batch: _Batch) -> None:
        from tests.fakes.anthropic import error_body

        self._describe(batch)  # ends it when its time has come
        if batch.results is None:
            handler.send_json(400, error_body(400, f"message batch {batch.id} has not ended yet"))
            return
        data = "".join(json.dumps(item) + "\n" for item in batch.results).encode()
        handler.send_bytes(200, data, "application/binary")
