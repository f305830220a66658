"""Asynchronous invocations as Lambda handles them: an event queue, retries and throttling.

An Event invocation (``Invoke`` with ``X-Amz-Invocation-Type: Event``, and every invocation a
pipeline's Lambda action makes) is queued and run by the queue, not by the caller. On AWS
(Lambda developer guide, "Error handling and automatic retries in asynchronous invocation"):

- a function error — an exception, a crash, a timeout — is retried twice, about one minute and
  then about two minutes later, with the same event and the same request id; each attempt is a
  new START … REPORT in the function's log. ``PutFunctionEventInvokeConfig``'s
  ``MaximumRetryAttempts`` (0–2) sets how many retries;
- a throttled event (reserved concurrency used up) goes back to the queue and is tried again,
  the wait growing from 1 second to at most 5 minutes, for as long as the event may live;
- an event older than ``MaximumEventAgeInSeconds`` (default 6 hours) is dropped.

Every wait here is AWS's, multiplied by the local cloud's time scale (``time_scale``: the job
time-out's ratio to AWS's 20 minutes, so 0.05 by default): a retry comes 3 s and then 6 s later,
as an action's job times out after 60 s instead of 20 minutes.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import AwsError
from .exceptions import TooManyRequestsException

RETRY_DELAYS_S = (60.0, 120.0)  # after the first attempt, then after the second
DEFAULT_RETRIES = 2
DEFAULT_EVENT_AGE_S = 6 * 3600.0
THROTTLE_FIRST_S, THROTTLE_MAX_S = 1.0, 300.0
AWS_JOB_TIMEOUT_S = 20 * 60.0  # what the local job time-out is scaled from


@dataclass
class Event:
    """One queued asynchronous invocation."""

    region: str
    name: str
    payload: bytes
    qualifier: str | None
    request_id: str
    queued: float = field(default_factory=time.monotonic)
    retries: int = 0  # function errors retried so far
    throttled: int = 0  # times it was throttled so far


@dataclass(frozen=True)
class Settings:
    """What PutFunctionEventInvokeConfig set, or Lambda's defaults."""

    maximum_retry_attempts: int = DEFAULT_RETRIES
    maximum_event_age_s: float = DEFAULT_EVENT_AGE_S


class EventQueue:
    """Runs queued events on a thread pool; retries wait on one timer thread."""

    def __init__(
        self,
        invoke: Callable[..., object],
        settings: Callable[[str, str, str | None], Settings],
        time_scale: float,
        workers: int = 32,
    ):
        self._invoke, self._settings, self.time_scale = invoke, settings, time_scale
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda-async")
        self._due: list[tuple[float, int, Event]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        threading.Thread(target=self._timer, daemon=True, name="lambda-async-retries").start()

    def put(self, event: Event) -> None:
        self._pool.submit(self._run, event)

    def pending(self) -> int:
        """Events waiting for a retry."""
        with self._wake:
            return len(self._due)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._due.clear()
            self._wake.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- running --------------------------------------------------------------------------
    def _run(self, event: Event) -> None:
        try:
            settings = self._settings(event.region, event.name, event.qualifier)
        except AwsError:
            return  # deleted meanwhile: AWS drops the event too (no destination configured)
        if time.monotonic() - event.queued > settings.maximum_event_age_s * self.time_scale:
            return  # too old: dropped, as AWS drops an expired event
        try:
            invocation = self._invoke(
                event.region, event.name, event.payload, event.qualifier, event.request_id
            )
        except TooManyRequestsException:
            wait = min(THROTTLE_FIRST_S * 2**event.throttled, THROTTLE_MAX_S)
            event.throttled += 1
            self._later(event, wait)
            return
        except AwsError:
            return  # deleted meanwhile
        if getattr(invocation, "error", None) is None:
            return
        if event.retries < min(settings.maximum_retry_attempts, len(RETRY_DELAYS_S)):
            wait = RETRY_DELAYS_S[event.retries]
            event.retries += 1
            self._later(event, wait)

    def _later(self, event: Event, aws_seconds: float) -> None:
        due = time.monotonic() + aws_seconds * self.time_scale
        with self._wake:
            if self._closed:
                return
            heapq.heappush(self._due, (due, next(self._order), event))
            self._wake.notify_all()

    def _timer(self) -> None:
        with self._wake:
            while not self._closed:
                if not self._due:
                    self._wake.wait()
                    continue
                due, _, event = self._due[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._due)
                try:
                    self._pool.submit(self._run, event)
                except RuntimeError:
                    return  # shut down


def settings_of(fn) -> Settings:
    """The function's EventInvokeConfig (moto keeps it on the function), or the defaults."""
    configs = getattr(fn, "event_invoke_config", None) or []
    if not configs:
        return Settings()
    config = configs[0].config
    return Settings(
        maximum_retry_attempts=int(config.get("MaximumRetryAttempts", DEFAULT_RETRIES)),
        maximum_event_age_s=float(config.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE_S)),
    )
