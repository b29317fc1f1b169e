"""`imgedit batch` as a user runs it: real subprocesses over folders, zips and manifests of real
photographs with price tags and banners, read back by OCR where the edit is text."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import psutil
from PIL import Image

from tests.batch_helpers import ocr_texts, product, run_batch_cli, save_as

BADGE = "add a 'SALE' badge in the top right"


def _report(proc: Any) -> dict[str, Any]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in report["items"]}


def test_folder_keeps_paths_names_and_formats_edits_duplicates_once_and_names_the_corrupt_file(
    tmp_path: Path,
) -> None:
    source = tmp_path / "catalogue"
    mug = product("coffee", price="¥129")
    save_as(mug, source / "mugs" / "red.png")
    save_as(mug, source / "mugs" / "red2.png")  # the same picture twice: edited once
    save_as(product("chelsea", (240, 200)), source / "cats" / "cat.jpg", "JPEG")
    frames = [product("astronaut", (200, 200)), product("rocket", (200, 200))]
    source.mkdir(parents=True, exist_ok=True)
    frames[0].save(
        source / "poster.gif", save_all=True, append_images=frames[1:], duration=[400, 600], loop=0
    )
    save_as(product("rocket", (160, 240)), source / "rocket.tiff", "TIFF")
    save_as(product("coffee", (200, 160)), source / "shop.webp", "WEBP")
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a photo")
    (source / "notes.txt").write_text("not a picture")
    out = tmp_path / "out"

    proc = run_batch_cli(str(source), "--prompt", BADGE, "-o", str(out), "--json", "--workers", "2")

    assert proc.returncode == 2, proc.stderr  # some inputs were bad, the rest written
    report = _report(proc)
    items = _by_name(report)
    assert sorted(items) == [
        "broken.jpg",
        "cats/cat.jpg",
        "mugs/red.png",
        "mugs/red2.png",
        "poster.gif",
        "rocket.tiff",
        "shop.webp",
    ]
    assert items["broken.jpg"]["status"] == "failed" and items["broken.jpg"]["exit_code"] == 2
    assert "broken.jpg is not a readable" in items["broken.jpg"]["reason"]
    assert items["mugs/red2.png"]["status"] == "reused"
    assert items["mugs/red2.png"]["same_as"] == "mugs/red.png"
    assert report["engine_calls"] == 6  # five distinct pictures and the corrupt one, each once
    for name, fmt in [
        ("mugs/red.png", "PNG"),
        ("mugs/red2.png", "PNG"),
        ("cats/cat.jpg", "JPEG"),
        ("poster.gif", "GIF"),
        ("rocket.tiff", "TIFF"),
        ("shop.webp", "WEBP"),
    ]:
        assert items[name]["status"] in ("edited", "reused"), items[name]
        with Image.open(out / name) as written, Image.open(source / name) as original:
            assert (written.format, written.size) == (fmt, original.size)
    with Image.open(out / "poster.gif") as poster:  # an animation: every frame edited, timing kept
        assert poster.n_frames == 2 and poster.info["duration"] == 400
    assert not (out / "broken.jpg").exists() and not (out / "notes.txt").exists()
    assert (out / "mugs" / "red.png").read_bytes() == (out / "mugs" / "red2.png").read_bytes()
    assert "SALE" in " ".join(ocr_texts(Image.open(out / "mugs" / "red.png")))


def test_zip_in_zip_out_keeps_entry_names_and_refuses_a_path_leaving_the_output(tmp_path: Path) -> None:
    archive = tmp_path / "pictures.zip"
    pictures = tmp_path / "pictures"
    save_as(product("coffee", (160, 120)), pictures / "a.png")
    save_as(product("chelsea", (160, 120)), pictures / "b.jpg", "JPEG")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(pictures / "a.png", "spring/a.png")
        zf.write(pictures / "b.jpg", "spring/deep/b.jpg")
        zf.write(pictures / "a.png", "../escape.png")
    out = tmp_path / "result.zip"

    proc = run_batch_cli(str(archive), "--theme", "retro", "-o", str(out), "--json")

    assert proc.returncode == 2, proc.stderr
    items = _by_name(_report(proc))
    assert "outside the output" in items["../escape.png"]["reason"]
    assert items["spring/a.png"]["status"] == "edited"
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["spring/a.png", "spring/deep/b.jpg"]
    assert not (tmp_path / ".result.zip.imgedit-batch").exists()  # state removed once zipped


def _manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_manifest_fills_placeholders_per_row_and_refuses_bad_rows_by_number(tmp_path: Path) -> None:
    save_as(product("coffee", price="¥129"), tmp_path / "sku" / "mug.png")
    save_as(product("chelsea", price="¥159"), tmp_path / "sku" / "cat.png")
    manifest = _manifest(
        tmp_path / "prices.csv",
        [
            {"file": "sku/mug.png", "old_price": "¥129", "new_price": "¥159", "instruction": ""},
            {"file": "sku/cat.png", "old_price": "¥159", "new_price": "¥129", "instruction": ""},
            {"file": "sku/cat.png", "old_price": "", "new_price": "", "instruction": "把“{colour}”换成红色"},
            {"file": "sku/missing.png", "old_price": "¥1", "new_price": "¥2", "instruction": ""},
            {"file": "sku/mug.png", "old_price": "", "new_price": "", "instruction": "make it warmer"},
        ],
    )
    out = tmp_path / "out"
    prompt = "把“{old_price}”换成“{new_price}”"

    dry = run_batch_cli(str(manifest), "--prompt", prompt, "-o", str(out), "--dry-run")
    assert dry.returncode == 2, dry.stderr
    assert "edit    row 2 (sku/mug.png): text_replace with classic ('把“¥129”换成“¥159”')" in dry.stdout
    assert "refuse  row 4 (sku/cat.png)" in dry.stdout and "没有“colour”这一列" in dry.stdout  # in Chinese
    assert "refuse  row 5 (sku/missing.png)" in dry.stdout and "No such image file" in dry.stdout
    assert not out.exists()  # a dry run writes nothing

    proc = run_batch_cli(str(manifest), "--prompt", prompt, "-o", str(out), "--json")
    assert proc.returncode == 2, proc.stderr
    rows = {item["row"]: item for item in _report(proc)["items"]}
    assert rows[2]["status"] == "edited" and rows[2]["instruction"] == "把“¥129”换成“¥159”"
    assert rows[3]["status"] == "edited"
    assert rows[4]["status"] == "failed" and "没有“colour”这一列" in rows[4]["reason"]
    assert rows[5]["status"] == "failed" and "missing.png" in rows[5]["reason"]
    assert rows[6]["status"] == "failed" and "sku/mug.png is already written by row 2" in rows[6]["reason"]
    assert "159" in " ".join(ocr_texts(Image.open(out / "sku" / "mug.png")))
    assert "129" in " ".join(ocr_texts(Image.open(out / "sku" / "cat.png")))


def _journal(out: Path) -> list[dict[str, Any]]:
    path = out / ".imgedit-batch" / "journal.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def _wait_for_journal(proc: Any, out: Path, lines: int) -> None:
    deadline = time.monotonic() + 120
    while len(_journal(out)) < lines:
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.02)


def _workers(pid: int) -> list[psutil.Process]:
    """The batch's worker processes: forks of it, so the same command line (not, say, fc-list)."""
    parent = psutil.Process(pid)
    workers = []
    for child in parent.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.cmdline() == parent.cmdline():
                workers.append(child)
    return workers


def test_killed_and_interrupted_runs_resume_without_editing_finished_pictures_again(tmp_path: Path) -> None:
    source = tmp_path / "in"
    photos = ["coffee", "chelsea", "astronaut", "rocket"]
    # Sixteen distinct pictures: enough that a slow, shared machine cannot finish the rest between
    # the test seeing one more journal line and its Ctrl-C arriving (eight sometimes did).
    for index in range(16):
        save_as(product(photos[index % 4], (200 + 4 * index, 180)), source / f"p{index}.png")
    out = tmp_path / "out"
    args = [str(source), "--prompt", BADGE, "-o", str(out), "--workers", "2"]
    command = [sys.executable, "-m", "cli.main", "batch", *args]

    # 1. kill -9 once two pictures are done: the workers leave with it.
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_journal(first, out, 2)
    workers = psutil.Process(first.pid).children(recursive=True)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers outlived the killed batch: {alive}"
    killed_done = {entry["output"] for entry in _journal(out)}
    assert 2 <= len(killed_done) < 16
    stamps = {name: (out / name).stat().st_mtime_ns for name in killed_done}

    # 2. Ctrl-C after one more: a clear message and exit 130.
    # As from a terminal: a shell running this suite in the background (`make test &`, some CI
    # runners) hands its children SIGINT ignored, and Python then installs no Ctrl-C handler.
    second = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_for_journal(second, out, len(killed_done) + 1)
    second.send_signal(signal.SIGINT)
    _, stderr = second.communicate(timeout=60)
    assert second.returncode == 130, stderr
    assert "run the same command again to resume" in stderr and "Traceback" not in stderr
    done_before = {entry["output"] for entry in _journal(out)}

    # 3. A worker killed (as the OOM killer would): a failure of ours, exit 1, named as such.
    assert len(done_before) < 16
    third = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (workers := _workers(third.pid)):
        assert third.poll() is None, "the batch ended before a worker could be killed"
        time.sleep(0.01)
    os.kill(workers[0].pid, signal.SIGKILL)
    _, stderr = third.communicate(timeout=60)
    assert third.returncode == 1, stderr
    assert "A worker process died" in stderr and "Run the same command again" in stderr
    assert "Traceback" not in stderr
    done_before = {entry["output"] for entry in _journal(out)}

    # 4. The same command again finishes the rest and edits nothing twice.
    proc = run_batch_cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    report = _report(proc)
    statuses = {item["name"]: item["status"] for item in report["items"]}
    assert {name for name, status in statuses.items() if status == "resumed"} == done_before
    assert all(status == "edited" for name, status in statuses.items() if name not in done_before)
    assert report["engine_calls"] == 16 - len(done_before)
    assert {name: (out / name).stat().st_mtime_ns for name in killed_done} == stamps
    for index in range(8):
        with Image.open(out / f"p{index}.png") as written:
            assert written.size == Image.open(source / f"p{index}.png").size
