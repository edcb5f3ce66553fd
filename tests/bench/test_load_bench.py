"""The load benchmark's own machinery (bench/load/), on a tiny catalogue.

What this proves: the runner builds a catalogue, serves it with uvicorn's two workers,
drives the whole mix through wrk and mix.lua (searches, pitch pages, ad-hoc matches and
``PATCH`` writes with ``If-Match`` that really change the listing), and reads back what
every answer was; and its verdicts (the rate held, a fall in throughput) follow the
figures. It does not measure anything: ``make bench-load`` does.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from bench.load import load_bench
from bench.load.load_bench import Step, falls, held
from catalog.models import Listing
from core.db import make_engine


def _step(connections: int, requests: int, p95: float, errors: int = 0) -> Step:
    statuses = Counter({("search", 200): requests - errors})
    if errors:
        statuses[("match", 500)] = errors
    return Step(
        database="sqlite",
        connections=connections,
        seconds=1.0,
        requests=requests,
        p50=p95 / 2,
        p95=p95,
        p99=p95,
        max=p95,
        socket_errors=Counter(),
        statuses=statuses,
    )


def test_the_rate_held_needs_no_error_and_a_p95_under_100_ms() -> None:
    steps = [
        _step(4, 300, 20.0),
        _step(8, 450, 60.0),
        _step(16, 500, 150.0),
        _step(32, 520, 40.0, errors=1),
    ]
    best = held(steps)
    assert best is not None
    assert best.connections == 8


def test_a_412_is_a_conflict_not_an_error() -> None:
    step = _step(4, 100, 10.0)
    step.statuses[("write", 412)] = 3
    assert (step.conflicts, step.errors) == (3, 0)
    step.statuses[("write", 409)] = 1
    assert step.errors == 1


def test_throughput_that_falls_as_connections_rise_is_a_collapse() -> None:
    assert falls([_step(4, 300, 1), _step(8, 400, 1), _step(16, 380, 1)]) == []  # within 10 %
    assert falls([_step(4, 300, 1), _step(8, 400, 1), _step(16, 35, 1)]) == [
        "16 conns: 35 req/s after 400"
    ]


@pytest.mark.slow
@pytest.mark.live_server
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_a_smoke_run_drives_the_whole_mix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = load_bench.main(
        [
            "--listings", "300",
            "--databases", "sqlite",
            "--steps", "4",
            "--seconds", "3",
            "--no-semantic",
            "--no-access-log",
            "--workdir", str(tmp_path),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "sqlite: highest rate held" in printed or "sqlite: no step held" in printed
    mix = next(line for line in printed.splitlines() if line.strip().startswith("mix:"))
    for kind in ("search", "pitch", "match"):
        assert kind in mix, printed
    # What each request cost the machine: the server's workers did the work, wrk sent it.
    cpu = next(line for line in printed.splitlines() if "cpu per request:" in line)
    app_ms, wrk_ms = (float(n) for n in re.findall(r"(?:app|wrk) ([\d.]+) ms", cpu))
    assert app_ms > wrk_ms > 0, cpu
    assert "cores hold at most" in printed
    # The writes really wrote: the listings the connections own moved past version 2.
    engine = make_engine(f"sqlite:///{tmp_path / 'sqlite' / 'load.db'}")
    try:
        with Session(engine) as session:
            edited = session.execute(
                select(col(Listing.slug)).where(col(Listing.summary_en).like("Load test edit %"))
            ).all()
    finally:
        engine.dispose()
    assert edited, printed
    assert "0 'database is locked', 0 tracebacks, 0 5xx answers, 0 workers died" in printed
