"""Background work: e-mails now; roll-ups, alerts and reminders as they come.

One interface, two runners:

* PostgreSQL: procrastinate (``core.procrastinate_queue``), a maintained queue on the
  same database, with LISTEN/NOTIFY, retries and locks; safe with any number of
  processes and hosts.
* SQLite (the embedded default): ``TableJobQueue`` below, a ``job`` table worked by the
  app's own processes. SQLite lets one writer in at a time, so claiming a job is one
  conditional UPDATE; a lease returns the job of a process that died mid-task.

Either way a job is deferred in the caller's own transaction: a request that rolls back
leaves no job behind, and one that commits cannot lose its job. Tasks are plain
functions of a ``JobContext`` and JSON arguments, retried with a growing wait; a job is
done once (an interrupted attempt may run again, so tasks are written to be safe to
repeat).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import traceback
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, update
from sqlmodel import Field, Session, SQLModel, col, select

from core.db import Database, UTCDateTime, utcnow
from core.mail import Mailer
from core.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=10)  # then 20 s, 40 s, 80 s
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class JobContext:
    """What a task may use: the database, the settings and, when configured, the mailer."""

    database: Database
    settings: Settings
    mailer: Mailer | None


Task = Callable[[JobContext, dict[str, Any]], None]


@dataclass(frozen=True)
class JobView:
    """A job as an admin sees it."""

    id: int
    task: str
    status: str  # queued | running | done | failed
    attempts: int
    created_at: datetime | None
    last_error: str


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobQueue(ABC):
    """Deferred work, run by the app's processes in the background."""

    def __init__(self, context: JobContext) -> None:
        self.context = context
        self.tasks: dict[str, Task] = {}

    def register(self, name: str, task: Task) -> None:
        self.tasks[name] = task

    def run_task(self, name: str, arguments: dict[str, Any]) -> None:
        self.tasks[name](self.context, arguments)

    @abstractmethod
    def defer(self, session: Session, task: str, arguments: dict[str, Any]) -> None:
        """Queue ``task`` in ``session``'s transaction: it exists once that commits."""

    @abstractmethod
    async def work(self) -> None:
        """Run jobs until cancelled."""

    @abstractmethod
    async def run_until_idle(self) -> int:
        """Run every job that is due now; returns how many ran (tests, commands)."""

    @abstractmethod
    def recent(self, session: Session, limit: int = 50) -> list[JobView]:
        """The latest jobs, newest first, for an admin."""


class Job(SQLModel, table=True):
    """A job of the embedded runner (SQLite)."""

    __table_args__ = (Index("ix_job_status_run_after", "status", "run_after"),)

    id: int | None = Field(
        default=None, sa_type=BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    task: str = Field(sa_type=String(100))
    arguments: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="queued", sa_type=String(16))
    attempts: int = 0
    run_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, sa_type=String(120))
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TableJobQueue(JobQueue):
    """The in-process runner: the ``job`` table, worked by every app process."""

    def __init__(self, context: JobContext, *, poll_seconds: float = 1.0) -> None:
        super().__init__(context)
        self.poll_seconds = poll_seconds
        self.name = worker_name()

    def defer(self, session: Session, task: str, arguments: dict[str, Any]) -> None:
        if task not in self.tasks:
            raise ValueError(f"no task '{task}'")
        session.add(Job(task=task, arguments=arguments))

    def _claim(self) -> Job | None:
        now = utcnow()
        due_jobs = (
            select(Job.id)
            .where(
                ((col(Job.status) == "queued") & (col(Job.run_after) <= now))
                | ((col(Job.status) == "running") & (col(Job.locked_until) < now))
            )
            .order_by(col(Job.run_after), col(Job.id))
            .limit(1)
        )
        # Most polls find nothing: look first without SQLite's write lock, which every
        # request that writes would otherwise queue behind, once a poll per process.
        with self.context.database.reading() as session:
            if session.exec(due_jobs).first() is None:
                return None
        with self.context.database.writing() as session:
            due = session.exec(due_jobs).first()
            if due is None:
                return None
            claimed = session.execute(
                update(Job)
                .where(
                    col(Job.id) == due,
                    (col(Job.status) == "queued")
                    | ((col(Job.status) == "running") & (col(Job.locked_until) < now)),
                )
                .values(
                    status="running",
                    locked_by=self.name,
                    locked_until=now + LEASE,
                    attempts=Job.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            job = session.get(Job, due)
            assert job is not None
            session.expunge(job)
            return job

    def _finish(self, job: Job, error: str | None) -> None:
        with self.context.database.writing() as session:
            values: dict[str, Any]
            if error is None:
                values = {"status": "done", "finished_at": utcnow(), "last_error": ""}
            elif job.attempts >= MAX_ATTEMPTS:
                values = {"status": "failed", "finished_at": utcnow(), "last_error": error}
            else:
                wait = FIRST_RETRY * 2 ** (job.attempts - 1)
                values = {"status": "queued", "run_after": utcnow() + wait, "last_error": error}
            session.execute(
                update(Job)
                .where(col(Job.id) == job.id, col(Job.locked_by) == self.name)
                .values(locked_by=None, locked_until=None, **values)
                .execution_options(synchronize_session=False)
            )

    def run_one(self) -> bool:
        """Claim and run one due job; False when none is due."""
        job = self._claim()
        if job is None:
            return False
        try:
            self.run_task(job.task, job.arguments)
        except Exception:
            log.warning(
                "job %s (%s) failed, attempt %s", job.id, job.task, job.attempts, exc_info=True
            )
            self._finish(job, traceback.format_exc(limit=5)[-2000:])
        else:
            self._finish(job, None)
        return True

    async def run_until_idle(self) -> int:
        ran = 0
        while await anyio.to_thread.run_sync(self.run_one):
            ran += 1
        return ran

    async def work(self) -> None:
        while True:
            try:
                if await anyio.to_thread.run_sync(self.run_one):
                    continue
            except Exception:
                log.exception("job runner failed; retrying")
            await asyncio.sleep(self.poll_seconds)

    def recent(self, session: Session, limit: int = 50) -> list[JobView]:
        rows = session.exec(select(Job).order_by(col(Job.id).desc()).limit(limit)).all()
        return [
            JobView(row.id or 0, row.task, row.status, row.attempts, row.created_at, row.last_error)
            for row in rows
        ]
