"""``batch.run_batch`` in-process, as the service's batch job will call it: cancel and resume, and a
.zip that carries its own manifest."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from batch import BatchOptions, check_batch, run_batch
from engine.types import CancelToken
from imgedit.errors import BadInputError, EditCancelledError, NotFoundError
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


def test_a_zip_with_a_manifest_gives_each_picture_its_own_instruction(tmp_path: Path) -> None:
    pictures = tmp_path / "pictures"
    save_as(product("coffee", (160, 120)), pictures / "mug.png")
    save_as(product("chelsea", (160, 120)), pictures / "cat.jpg", "JPEG")
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "manifest.csv", "file,look\nshop/mug.png,warmer\nshop/cat.jpg,brighter\nshop/gone.png,warmer\n"
        )
        zf.write(pictures / "mug.png", "shop/mug.png")
        zf.write(pictures / "cat.jpg", "shop/cat.jpg")

    report = run_batch(archive, tmp_path / "out", BatchOptions(prompt="make it {look}", workers=1))

    items = {item.name: item for item in report.items}
    assert items["shop/mug.png"].instruction == "make it warmer" and items["shop/mug.png"].status == "edited"
    assert (
        items["shop/cat.jpg"].instruction == "make it brighter" and items["shop/cat.jpg"].status == "edited"
    )
    assert (
        items["shop/gone.png"].status == "failed"
        and "No such picture in upload.zip" in items["shop/gone.png"].reason
    )
    assert report.exit_code == 2
    with Image.open(tmp_path / "out" / "shop" / "cat.jpg") as written:
        assert written.format == "JPEG" and written.size == (160, 120)
    assert not (tmp_path / "out" / "manifest.csv").exists()


def test_check_batch_counts_the_pictures_or_says_why_it_cannot_run(tmp_path: Path) -> None:
    save_as(product("coffee", (96, 72)), tmp_path / "in" / "a.png")
    save_as(product("chelsea", (96, 72)), tmp_path / "in" / "b.png")
    assert check_batch(tmp_path / "in", BatchOptions(theme="retro")) == 2
    with pytest.raises(NotFoundError):
        check_batch(tmp_path / "in", BatchOptions(theme="no-such-look"))
    notes = tmp_path / "notes.zip"
    with zipfile.ZipFile(notes, "w") as zf:
        zf.writestr("notes.txt", "no pictures here")
    with pytest.raises(BadInputError, match="holds no pictures"):
        check_batch(notes, BatchOptions(prompt="make it warmer"))
