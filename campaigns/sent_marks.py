"""Marking alert deliveries sent without waiting for each commit's flush.

A bulk worker marks each row sent right after the SMTP server's answer, one
statement per row: a worker killed between the answer and the mark sends that
one email again, never more. Waiting for each commit to reach the disk (a few
milliseconds, more than the rest of an email) is what made that slow, and it is
not what makes it safe: PostgreSQL completes a statement it has received even if
the client dies meanwhile.

So a batch's marks go over a connection of their own in asynchronous mode: the
UPDATE is sent (on the wire before the next email goes out) and its result is
read before the next mark, while the next email is rendered and sent. At most
one mark per worker is unconfirmed at any time; each commit is still flushed
before it is confirmed. A mark that fails is sent once more on a new connection
(the UPDATE only moves a row this worker holds from sending to sent, so a second
one changes nothing), and raises if that fails too.

Inside a transaction (tests, a caller's atomic block) another connection would
not see the rows: the marks then go through Django's connection, one by one.
"""

from __future__ import annotations

import logging
import select

import psycopg2
import psycopg2.extensions
from django.db import connection
from django.utils import timezone

from .models import AlertDelivery

log = logging.getLogger(__name__)

Status = AlertDelivery.Status
# Only a row this worker still holds: a row taken back as stale and sent by
# another worker meanwhile keeps that worker's outcome.
MARK_SENT = (
    "UPDATE campaigns_alertdelivery SET status = %s, sent_at = %s, last_error = ''"
    " WHERE id = %s AND status = %s"
)
# A database that answers nothing for this long is treated as gone.
WAIT_SECONDS = 60


class SentMarks:
    """The marks of one batch: mark(id) after each answer, close() at its end (it
    waits for the last mark). The connection lives for the batch only: nothing
    outlives it (a database restart, a test database being dropped)."""

    def __init__(self) -> None:
        self._connection: psycopg2.extensions.connection | None = None
        # The row whose mark is in flight, and its cursor: psycopg2 needs the
        # cursor alive until the result is read.
        self._pending: tuple[int, psycopg2.extensions.cursor] | None = None

    def mark(self, delivery_id: int) -> None:
        """Mark the row sent; returns once the statement is on its way."""
        self.finish()
        if connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute(MARK_SENT, _parameters(delivery_id))
            return
        try:
            self._send(delivery_id)
        except (psycopg2.Error, OSError, TimeoutError) as error:
            self._again(delivery_id, error)

    def finish(self) -> None:
        """Wait for the mark in flight, if any."""
        if self._pending is None:
            return
        delivery_id = self._pending[0]
        try:
            self._wait()
        except (psycopg2.Error, OSError, TimeoutError) as error:
            self._again(delivery_id, error)
        finally:
            self._pending = None

    def close(self) -> None:
        """Wait for the last mark, then close the connection."""
        try:
            self.finish()
        finally:
            self._reset()

    def _again(self, delivery_id: int, error: Exception) -> None:
        # Once more on a new connection (the UPDATE may be sent twice: it only
        # moves a row from sending to sent); raises if that fails too.
        log.warning("Mark of delivery %s: %s; sent again", delivery_id, error)
        self._reset()
        try:
            self._send(delivery_id)
            self._wait()
        finally:
            self._pending = None

    def _send(self, delivery_id: int) -> None:
        if self._connection is None or self._connection.closed:
            self._reset()
            parameters = connection.get_connection_params()
            parameters.pop("cursor_factory", None)
            self._connection = psycopg2.connect(**parameters, async_=True)
            self._wait()
        cursor = self._live().cursor()
        cursor.execute(MARK_SENT, _parameters(delivery_id))
        self._pending = (delivery_id, cursor)
        self._wait(until_sent=True)

    def _live(self) -> psycopg2.extensions.connection:
        if self._connection is None:
            raise psycopg2.InterfaceError("The marks' connection is not open.")
        return self._connection

    def _wait(self, *, until_sent: bool = False) -> None:
        live = self._live()
        while True:
            state = live.poll()
            if state == psycopg2.extensions.POLL_OK:
                return
            if state == psycopg2.extensions.POLL_READ:
                if until_sent:
                    return  # all written: the server has it
                ready = select.select([live.fileno()], [], [], WAIT_SECONDS)[0]
            elif state == psycopg2.extensions.POLL_WRITE:
                ready = select.select([], [live.fileno()], [], WAIT_SECONDS)[1]
            else:
                raise psycopg2.OperationalError(f"Unexpected poll state {state}.")
            if not ready:
                raise TimeoutError(f"The database did not answer in {WAIT_SECONDS} s.")

    def _reset(self) -> None:
        self._pending = None
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


def _parameters(delivery_id: int) -> list:
    return [Status.SENT, timezone.now(), delivery_id, Status.SENDING]
