import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from jmere_pyg.vision import ImageError, images, load_image, read_image

from vision_testing import draw_scene


def reason_of(path, **kwargs):
    with pytest.raises(ImageError) as error:
        load_image(path, **kwargs)
    assert str(path) in str(error.value)
    return error.value.reason


def test_missing_empty_folder_and_non_images(tmp_path):
    assert reason_of(tmp_path / "gone.jpg") == "missing"
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert reason_of(tmp_path / "empty.jpg") == "empty"
    (tmp_path / "folder.jpg").mkdir()
    assert reason_of(tmp_path / "folder.jpg") == "unreadable"
    (tmp_path / "notes.jpg").write_text("a caption, not a picture\n")
    assert reason_of(tmp_path / "notes.jpg") == "not-an-image"


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_images(tmp_path, suffix):
    whole = io.BytesIO()
    draw_scene((200, 150)).save(whole, format=Image.registered_extensions()[
        suffix])
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(whole.getvalue()[:len(whole.getvalue()) // 2])
    assert reason_of(path) == "truncated"


def test_corrupt_image(tmp_path):
    data = io.BytesIO()
    draw_scene((200, 150)).save(data, format="PNG")
    raw = bytearray(data.getvalue())
    raw[60:400] = bytes(340)  # zero the compressed pixel data
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(raw))
    assert reason_of(path) == "corrupt"
    message = ImageError(path, "corrupt", "bad").args[0]
    assert message == f"{path}: corrupt: bad"
    with pytest.raises(ValueError, match="reason must be one of"):
        ImageError(path, "odd")


@pytest.mark.parametrize("mode", ["L", "1", "RGBA", "LA", "P", "CMYK",
                                  "I;16", "I", "F"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    picture = draw_scene((64, 48))
    if mode == "I;16":
        values = (np.asarray(picture.convert("L"), dtype=np.uint16) * 257)
        image = Image.fromarray(values)  # 16-bit grayscale
        assert image.mode == "I;16"
    elif mode in ("I", "F"):
        image = picture.convert("L").convert(mode)
    else:
        image = picture.convert(mode)
    suffix = {"CMYK": ".jpg", "F": ".tif", "I": ".tif"}.get(mode, ".png")
    path = tmp_path / f"image{suffix}"
    image.save(path)
    loaded = load_image(path)
    assert loaded.mode == "RGB" and loaded.size == (64, 48)
    if mode in ("I;16", "I", "F", "L"):  # 16-bit scaled back to 8 bits
        gray = np.asarray(picture.convert("L"), dtype=int)
        assert np.abs(np.asarray(loaded)[..., 0] - gray).max() <= 1


def test_transparency_goes_over_white(tmp_path):
    image = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    image.putpixel((0, 0), (0, 0, 255, 255))
    image.save(tmp_path / "alpha.png")
    loaded = load_image(tmp_path / "alpha.png")
    assert loaded.getpixel((5, 5)) == (255, 255, 255)
    assert loaded.getpixel((0, 0)) == (0, 0, 255)


def test_palette_png(tmp_path):
    image = draw_scene((40, 30)).convert("P", palette=Image.Palette.ADAPTIVE,
                                         colors=8)
    image.save(tmp_path / "palette.png")
    loaded = load_image(tmp_path / "palette.png")
    assert loaded.mode == "RGB"
    assert loaded.getpixel((3, 3)) == image.convert("RGB").getpixel((3, 3))


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 10), color)
              for color in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:],
                   duration=100, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 3
    red, green, blue = load_image(path).getpixel((10, 5))
    assert red > 200 and green < 50 and blue < 50


def test_exif_orientation_is_applied(tmp_path):
    """A 40 x 20 JPEG tagged Orientation 6 (rotate 90 degrees clockwise to
    view) is a 20 x 40 upright photo; its left half (red) ends on top."""
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=95)
    loaded = read_image(path)
    assert loaded.image.size == (20, 40) and loaded.original_size == (20, 40)
    top, bottom = loaded.image.getpixel((10, 5)), loaded.image.getpixel(
        (10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_large_images_are_resized(tmp_path, suffix):
    path = tmp_path / f"large{suffix}"
    draw_scene((900, 600)).save(path)
    loaded = read_image(path, max_side=300)
    assert loaded.image.size == (300, 200)
    assert loaded.original_size == (900, 600)
    assert load_image(path, max_side=1000).size == (900, 600)


def test_decompression_bomb_limit(tmp_path, monkeypatch):
    """Over Pillow's pixel limit the image is decoded and downscaled; over
    twice the limit Pillow refuses: an ImageError saying how to proceed."""
    draw_scene((400, 300)).save(tmp_path / "big.png")
    draw_scene((800, 600)).save(tmp_path / "bomb.jpg")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    loaded = read_image(tmp_path / "big.png", max_side=200)
    assert loaded.image.size == (200, 150)
    assert loaded.original_size == (400, 300)
    with pytest.raises(ImageError, match="MAX_IMAGE_PIXELS") as error:
        load_image(tmp_path / "bomb.jpg")
    assert error.value.reason == "too-large"
    assert "bomb.jpg" in str(error.value)


def test_large_16_bit_image_is_resized_before_it_becomes_an_array(
        tmp_path):
    """A 16-bit 13,000 x 13,000 PNG took 4.7 GB (a float64 copy at full
    size); now no copy outgrows the decoded image: here 4,000 x 4,000
    pixels, 30.5 MiB at 16 bits (numpy's allocations are traced)."""
    width = height = 4000
    columns = np.arange(width, dtype=np.uint16) * 16  # 0 .. 63,984
    path = tmp_path / "scan.png"
    Image.fromarray(np.tile(columns, (height, 1))).save(path)
    tracemalloc.start()
    try:
        loaded = read_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < width * height * 2, f"{peak / 2 ** 20:.1f} MiB"
    assert loaded.image.size == (1333, 1333)
    assert loaded.original_size == (width, height)
    row = np.asarray(loaded.image)[666, :, 0].astype(int)
    expected = np.arange(1333) * (width / 1333) * 16 / 257  # 16 to 8 bits
    assert np.abs(row - expected).max() <= 2


def test_16_bit_photo_is_turned_upright_after_resizing(tmp_path):
    """A 40 x 20 16-bit PNG tagged Orientation 6, bright on its left half,
    is a 20 x 40 upright photo, bright on top, here at half size."""
    values = np.zeros((20, 40), dtype=np.uint16)
    values[:, :20] = 65535
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.png"
    Image.fromarray(values).save(path, exif=exif)
    loaded = read_image(path, max_side=20)
    assert loaded.image.size == (10, 20) and loaded.original_size == (20, 40)
    assert loaded.image.getpixel((5, 2))[0] > 200
    assert loaded.image.getpixel((5, 17))[0] < 50


def test_out_of_memory_is_too_large_not_corrupt(tmp_path, monkeypatch):
    draw_scene((40, 30)).save(tmp_path / "huge.png")

    def out_of_memory(image, max_side):
        raise MemoryError()

    monkeypatch.setattr(images, "_decode", out_of_memory)
    with pytest.raises(ImageError, match="not enough memory") as error:
        load_image(tmp_path / "huge.png")
    assert error.value.reason == "too-large"
