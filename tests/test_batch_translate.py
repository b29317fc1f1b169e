"""Translating catalogue banners with `imgedit batch`: an approved glossary, read back by OCR, and
an OpenAI-compatible model (a small local HTTP server started by the test) for what it lacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from engine.translation import Glossary, load_glossary, translation_target
from imgedit.errors import BadInputError
from tests.batch_helpers import ocr_texts, product, run_batch_cli, save_as
from tests.openai_standin import ChatCompletionsServer


def _glossary(path: Path, rows: str) -> Path:
    path.write_text(rows, encoding="utf-8")
    return path


def _read(path: Path) -> str:
    """What OCR reads in the picture, folded: OCR drops or adds spaces between words."""
    return "".join(ocr_texts(Image.open(path))).replace(" ", "").casefold()


def _items(stdout: str) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in json.loads(stdout)["items"]}


def test_glossary_turns_chinese_banners_into_english_and_names_what_it_lacks(tmp_path: Path) -> None:
    source = tmp_path / "cn"
    save_as(product("coffee", banner="限时优惠", price="¥129"), source / "mug.png")
    save_as(product("chelsea", banner="新品上市"), source / "cat.png")
    save_as(product("rocket", (160, 200)), source / "plain.png")
    glossary = _glossary(tmp_path / "glossary.csv", "source,target\n限时优惠,Limited Offer\n")
    out = tmp_path / "en"

    proc = run_batch_cli(
        str(source), "--prompt", "把文字翻译成英文", "--glossary", str(glossary), "-o", str(out), "--json"
    )

    assert proc.returncode == 2, proc.stderr  # one banner had no approved translation
    items = _items(proc.stdout)
    mug = items["mug.png"]
    assert mug["status"] == "edited"
    assert mug["translated"] == [{"source": "限时优惠", "target": "Limited Offer", "by": "glossary"}]
    read = _read(out / "mug.png")
    assert "limitedoffer" in read and "129" in read  # the price is not text to translate
    assert "限时优惠" not in read
    cat = items["cat.png"]
    assert cat["status"] == "failed" and cat["untranslated"] == ["新品上市"]
    assert "没有译文" in cat["reason"]  # a Chinese instruction gets a Chinese reason
    assert not (out / "cat.png").exists()  # never guessed
    assert items["plain.png"]["status"] == "unchanged"
    assert (out / "plain.png").read_bytes() == (source / "plain.png").read_bytes()


class TranslationServer(ChatCompletionsServer):
    """Translates from a fixed table, as a model would; keeps what it was asked."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.requests: list[dict[str, Any]] = []
        super().__init__(self._respond)

    def _respond(self, body: dict[str, Any], request: object) -> dict[str, Any]:
        self.requests.append(body)
        phrases = json.loads(body["messages"][-1]["content"])
        content = json.dumps({p: self.table[p] for p in phrases if p in self.table}, ensure_ascii=False)
        return {"role": "assistant", "content": content}


@pytest.fixture
def translation_server() -> Iterator[TranslationServer]:
    with TranslationServer({"新品上市": "New Arrival"}) as server:
        yield server


def test_a_configured_model_translates_what_the_glossary_lacks(
    tmp_path: Path, translation_server: TranslationServer
) -> None:
    save_as(product("chelsea", banner="新品上市"), tmp_path / "in" / "cat.png")
    glossary = _glossary(tmp_path / "glossary.csv", "限时优惠,Limited Offer\n")
    out = tmp_path / "out"
    env = {"IMGEDIT_LLM": "openai", "IMGEDIT_LLM_BASE_URL": translation_server.url, "IMGEDIT_LLM_MODEL": "m"}

    proc = run_batch_cli(
        str(tmp_path / "in"),
        "--prompt",
        "translate the text into English",
        "--glossary",
        str(glossary),
        "-o",
        str(out),
        "--json",
        env=env,
    )

    assert proc.returncode == 0, proc.stderr
    assert _items(proc.stdout)["cat.png"]["translated"] == [
        {"source": "新品上市", "target": "New Arrival", "by": "model"}
    ]
    assert "newarrival" in _read(out / "cat.png")
    (request,) = translation_server.requests
    assert json.loads(request["messages"][-1]["content"]) == ["新品上市"]
    assert "限时优惠 => Limited Offer" in request["messages"][0]["content"]  # approved terms kept


def test_translation_requests_and_glossaries_are_read_as_written(tmp_path: Path) -> None:
    assert translation_target("把文字翻译成英文") == "en"
    assert translation_target("translate the banner text into Chinese") == "zh"
    assert translation_target("make it warmer") is None
    glossary = load_glossary(_glossary(tmp_path / "g.csv", "source,target\n限时 优惠,Limited Offer\n"))
    assert glossary.lookup("限时优惠") == "Limited Offer"  # spaces as OCR reads them do not matter
    assert Glossary((("新品", "New"),)).parts_in("¥129 新品") == [("新品", "New")]
    with pytest.raises(BadInputError, match="row 2"):
        load_glossary(_glossary(tmp_path / "bad.csv", "source,target\nonly one cell\n"))


def test_a_translation_with_nothing_to_translate_with_is_refused_up_front_in_its_language(
    tmp_path: Path,
) -> None:
    save_as(product("chelsea", banner="新品上市"), tmp_path / "in" / "cat.png")
    proc = run_batch_cli(str(tmp_path / "in"), "--prompt", "把文字翻译成英文", "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "既没有术语表，也没有可用的翻译模型" in proc.stderr
    assert not (tmp_path / "out").exists()
