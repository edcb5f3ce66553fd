"""The job queue on PostgreSQL: procrastinate (maintained, MIT), on the app's database.

Jobs are deferred through the request's own psycopg connection (procrastinate's
``configure(connection=...)``), so they commit or roll back with the request. Every app
process runs a worker; procrastinate's locking hands each job to one of them, LISTEN/
NOTIFY wakes them, and failed jobs are retried with an exponential wait. Its schema is
installed by our migrations (``citydeal db upgrade``).
"""

from __future__ import annotations

from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from core.db import read_rows
from core.jobs import MAX_ATTEMPTS, JobContext, JobQueue, JobView, Task, worker_name

STATUSES = {"todo": "queued", "doing": "running", "succeeded": "done"}
SHUTDOWN_SECONDS = 10.0


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no ``+psycopg`` driver suffix)."""
    url = make_url(database_url).set(drivername="postgresql")
    # A database that does not answer fails the job runner's connection in seconds (and
    # it retries) instead of holding it for libpq's default of minutes.
    url = url.update_query_dict({"connect_timeout": "5"})
    return url.render_as_string(hide_password=False)


class ProcrastinateJobQueue(JobQueue):
    def __init__(self, context: JobContext, database_url: str) -> None:
        super().__init__(context)
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=libpq_url(database_url))
        )
        self.name = worker_name()
        # Deferring happens in a request's (synchronous) transaction. Once the worker has
        # opened the app asynchronously in the same process, procrastinate would route a
        # synchronous defer through its async connector, which cannot use the request's
        # connection; a job manager over the synchronous connector always can (it uses
        # the connection given, never a pool of its own).
        self._deferrer = procrastinate.manager.JobManager(
            procrastinate.SyncPsycopgConnector(conninfo=libpq_url(database_url))
        )

    def register(self, name: str, task: Task) -> None:
        super().register(name, task)

        def run(**arguments: Any) -> None:
            self.run_task(name, arguments)

        self.app.task(
            name=name,
            retry=procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS, exponential_wait=10),
        )(run)

    def defer(self, session: Session, task: str, arguments: dict[str, Any]) -> None:
        connection = session.connection().connection.driver_connection
        job = self.app.tasks[task].configure().make_new_job(**arguments)
        self._deferrer.defer_job(job=job, connection=connection)

    async def work(self) -> None:
        async with self.app.open_async():
            await self.app.run_worker_async(
                install_signal_handlers=False,
                name=self.name,
                wait=True,
                # Stopping waits this long for running jobs, then cancels them (they are
                # retried): a stuck job must not hold up the process's shutdown.
                shutdown_graceful_timeout=SHUTDOWN_SECONDS,
            )

    async def run_until_idle(self) -> int:
        async with self.app.open_async():
            before = await self._done_count()
            await self.app.run_worker_async(
                install_signal_handlers=False, name=self.name, wait=False
            )
            return await self._done_count() - before

    async def _done_count(self) -> int:
        rows = await self.app.connector.execute_query_one_async(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE status IN ('succeeded', 'failed')"
        )
        return int(rows["n"])

    def recent(self, session: Session, limit: int = 50) -> list[JobView]:
        rows = read_rows(
            session,
            text(
                "SELECT j.id, j.task_name, j.status, j.attempts, "
                "(SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS created "
                "FROM procrastinate_jobs j ORDER BY j.id DESC LIMIT :limit"
            ),
            {"limit": limit},
        ).all()
        return [
            JobView(row[0], row[1], STATUSES.get(row[2], row[2]), row[3], row[4], "")
            for row in rows
        ]
