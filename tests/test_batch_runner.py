"""``batch.run_batch`` in-process, as the service's batch job will call it: cancel, then resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch import BatchOptions, run_batch
from engine.types import CancelToken
from imgedit.errors import EditCancelledError
from tests.batch_helpers import product, save_as


def test_a_cancelled_batch_stops_and_the_same_call_resumes_it(tmp_path: Path) -> None:
    photos = ["coffee", "chelsea", "astronaut", "rocket", "coffee"]
    for index, photo in enumerate(photos):
        save_as(product(photo, (120 + 8 * index, 96)), tmp_path / "in" / f"{index}.png")
    options = BatchOptions(prompt="make it warmer", workers=1)
    cancel = CancelToken()
    seen: list[int] = []

    def cancel_after_two(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            cancel.cancel()

    with pytest.raises(EditCancelledError):
        run_batch(tmp_path / "in", tmp_path / "out.zip", options, progress=cancel_after_two, cancel=cancel)
    assert not (tmp_path / "out.zip").exists()  # a cancelled zip is not half written

    report = run_batch(tmp_path / "in", tmp_path / "out.zip", options)
    statuses = [item.status for item in report.items]
    assert statuses.count("resumed") >= 2 and report.exit_code == 0
    assert report.engine_calls == len(photos) - statuses.count("resumed")
    assert (tmp_path / "out.zip").is_file()
