"""Errors a new user meets, told in the language of their instruction: a Chinese instruction with a
file that is not a usable image gets a Chinese message and hint, on the CLI and over HTTP, at
once or when the job decodes the file; an English one keeps its English message and hint."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from cli.main import app
from tests.server_harness import LiveServer, server_settings, wait_for_job
from tests.test_server_robustness import png_claiming

CORRUPT = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # a PNG signature, then nothing readable


def wide_png() -> bytes:
    """50,000 x 10: few pixels in all, but a side over the 20,000 limit."""
    buffer = io.BytesIO()
    Image.new("L", (50_000, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_cli_tells_a_chinese_instruction_about_a_bad_file_in_chinese(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(CORRUPT)
    (tmp_path / "wide.png").write_bytes(wide_png())
    runner = CliRunner()
    cases = {
        "broken.png": ("不是可读取的", "文件已损坏"),
        "wide.png": ("50000x10 像素，超出上限", "请先缩小图片"),
        "missing.png": ("找不到图片文件", "请检查路径"),
    }
    for name, (message, hint) in cases.items():
        out = str(tmp_path / "out.png")
        result = runner.invoke(app, ["edit", str(tmp_path / name), "把图片调亮一点", "-o", out])
        assert result.exit_code == 2, (name, result.output)
        assert message in result.stderr and hint in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and not Path(out).exists()
    # A deck or an archive that is not one, with a Chinese prompt or theme name.
    deck = runner.invoke(
        app, ["deck", "restyle", str(tmp_path / "broken.png"), "--theme", "情人节", "-o", "x.pptx"]
    )
    assert deck.exit_code == 2 and "不是 .pptx 演示文稿" in deck.stderr, deck.stderr
    batch = runner.invoke(app, ["batch", str(tmp_path / "none"), "--prompt", "把图片调亮一点", "-o", "x"])
    assert batch.exit_code == 2 and "找不到文件夹或文件" in batch.stderr, batch.stderr
    english = runner.invoke(app, ["edit", str(tmp_path / "broken.png"), "make it brighter", "-o", out])
    assert english.exit_code == 2
    assert "is not a readable PNG, JPEG or WebP image" in english.stderr
    assert "open it in a viewer" in english.stderr  # what to do, not only what is wrong


def test_http_answers_a_chinese_instruction_about_a_bad_upload_in_chinese(tmp_path: Path) -> None:
    with LiveServer(server_settings(tmp_path / "home")) as live, live.client(live.key("acme")) as client:

        def edit(data: bytes, instruction: str) -> tuple[int, dict[str, str]]:
            answer = client.post(
                "/v1/edits", files={"file": ("p.png", data, "image/png")}, data={"instruction": instruction}
            )
            return answer.status_code, answer.json()

        status, body = edit(CORRUPT, "把图片调亮一点")
        assert status == 400 and body["code"] == "bad_input", body
        assert "不是可读取的" in body["message"] and "文件已损坏" in body["hint"]
        status, body = edit(CORRUPT, "make it brighter")
        assert status == 400 and "not a readable" in body["message"] and "viewer" in body["hint"]
        status, body = edit(wide_png(), "把图片调亮一点")
        assert status == 413 and body["code"] == "image_too_large" and "超出上限" in body["message"]

        # A header that passes the upload check, pixels that stop early: the job fails, in Chinese.
        status, body = edit(png_claiming(64, 64, rows=8), "把图片调亮一点")
        assert status == 202, body
        job = wait_for_job(client, body["job_id"])
        assert job["status"] == "failed" and job["error"]["code"] == "bad_input", job
        assert "不是可读取的" in job["error"]["message"], job

        for route, form in (("/v1/decks", {"prompt": "把图片调亮一点"}), ("/v1/batches", {"theme": "复古"})):
            answer = client.post(route, files={"file": ("x.zip", CORRUPT)}, data=form)
            assert answer.status_code == 400 and "不是" in answer.json()["message"], answer.text

        session = client.post("/v1/sessions", json={}).json()["id"]
        answer = client.post(f"/v1/sessions/{session}/edits", json={"instruction": "把图片调亮一点"})
        assert answer.status_code == 400 and "还没有图片" in answer.json()["message"], answer.text

        wrong = live.client("ik_000000000000_notarealkeynotarealkey").get(f"/v1/sessions/{session}")
        assert wrong.status_code == 401 and "imgedit keys create --tenant" in wrong.json()["hint"]

        # A mistyped path or an empty field: what was wrong, and where the routes and fields are.
        typo = client.get("/v1/session")
        assert typo.status_code == 404 and typo.json()["message"] == "GET /v1/session: Not Found."
        assert "/docs" in typo.json()["hint"]
        empty = client.post(f"/v1/sessions/{session}/messages", json={"text": ""})
        assert (
            empty.status_code == 422 and "text" in empty.json()["message"] and "/docs" in empty.json()["hint"]
        )
