"""Loading and saving images: formats, corrupt files, oversized images, atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from engine.imageio import encode_image, load_image, save_image
from imgedit.errors import BadInputError, ImageTooLargeError
from tests.conftest import skimage_photo


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_supported_formats_load_with_their_format(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"photo.{fmt.lower()}"
    skimage_photo("coffee").save(path, fmt)
    loaded = load_image(path)
    assert loaded.format == fmt
    assert loaded.image.size == (600, 400)


def test_corrupt_image_is_a_clear_error(tmp_path: Path) -> None:
    data = encode_image(skimage_photo("coffee"), "PNG")
    path = tmp_path / "broken.png"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(BadInputError, match="not a readable"):
        load_image(path)


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("hello, I am not a picture")
    with pytest.raises(BadInputError, match=r"notes\.png"):
        load_image(path)


def test_other_formats_are_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "BMP")
    with pytest.raises(BadInputError, match="BMP"):
        load_image(buffer.getvalue())


def test_fifty_thousand_pixel_wide_png_is_refused_before_decoding() -> None:
    buffer = io.BytesIO()
    Image.new("L", (50_000, 2)).save(buffer, "PNG")
    with pytest.raises(ImageTooLargeError, match="50000x2"):
        load_image(buffer.getvalue())


def test_pixel_limit_is_configurable() -> None:
    data = encode_image(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(ImageTooLargeError, match="100x100 pixels; the limit is 5,000"):
        load_image(data, max_pixels=5_000)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="No such image"):
        load_image(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(BadInputError, match="empty"):
        load_image(tmp_path / "empty.png")


def test_palette_and_grey_images_become_rgb(tmp_path: Path) -> None:
    path = tmp_path / "grey.png"
    Image.new("L", (10, 10), 77).save(path)
    assert load_image(path).image.mode == "RGB"


def test_save_is_atomic_and_follows_the_suffix(tmp_path: Path) -> None:
    out = save_image(skimage_photo("coffee"), tmp_path / "deep" / "out.webp")
    assert Image.open(out).format == "WEBP"
    assert not list(out.parent.glob(".*.tmp"))


def test_every_named_sample_photo_loads() -> None:
    from engine.samples import SAMPLE_NAMES, sample_photo

    for name in SAMPLE_NAMES:
        assert sample_photo(name).mode == "RGB"
