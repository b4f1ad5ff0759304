"""Reading image files into RGB pictures a detector can take, or a clear
:class:`ImageError` naming the file.

:func:`load_image` is the only function of jmere_pyg that opens an image
file. What it does with each kind of input:

* missing file, a folder, an unreadable file: ``ImageError`` (``missing``,
  ``unreadable``); a zero-byte file: ``ImageError`` (``empty``); a file that
  is no image Pillow knows: ``ImageError`` (``not-an-image``); a truncated or
  otherwise corrupt image: ``ImageError`` (``truncated``, ``corrupt``);
* grayscale, bilevel, CMYK, YCbCr, LAB, HSV: converted to RGB by Pillow;
  palette images and images with an alpha channel (RGBA, LA, PA, palette
  with transparency) are composited over a white background; 16- and
  32-bit integer and float images (``I;16``, ``I``, ``F``) are resized
  first, then scaled to 8 bits (values above 255 are taken as 16-bit and
  divided by 257, values above 65535 or below 0 are min-max scaled), so that
  no copy larger than the decoded image is made;
* animations (GIF, APNG, WebP): the first frame;
* photos with an EXIF ``Orientation`` tag: turned upright
  (``ImageOps.exif_transpose``); an unparsable EXIF block is ignored;
* huge images: above Pillow's decompression-bomb limit
  (``PIL.Image.MAX_IMAGE_PIXELS``, a warning) the image is decoded and
  downscaled (JPEGs are decoded at a reduced scale with ``Image.draft``);
  above twice the limit Pillow refuses to decode it: ``ImageError``
  (``too-large``), whose message says how to raise the limit; an image
  that does not fit in memory: ``ImageError`` (``too-large``);
* every image whose long side exceeds ``max_side`` is resized (aspect kept)
  so that its long side is ``max_side``.
"""
import os
import warnings
from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

PathLike = Union[str, os.PathLike]

#: Modes of 16- and 32-bit integer and float images, scaled to 8 bits.
HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
#: The categories of :attr:`ImageError.reason`.
IMAGE_ERROR_REASONS = ("missing", "unreadable", "empty", "not-an-image",
                       "truncated", "corrupt", "too-large")


class ImageError(ValueError):
    """An image file that cannot be read.

    Args:
        path (str): The file.
        reason (str): Short category, one of :data:`IMAGE_ERROR_REASONS`,
            under which skipped images are counted.
        detail (str, optional): What went wrong.

    The message reads ``photo.jpg: truncated: image file is truncated``.
    """

    def __init__(self, path: PathLike, reason: str, detail: str = ""):
        if reason not in IMAGE_ERROR_REASONS:
            raise ValueError(f"reason must be one of {IMAGE_ERROR_REASONS}, "
                             f"got {reason!r}")
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{self.path}: {reason}"
                         + (f": {detail}" if detail else ""))

    def __reduce__(self):
        return type(self), (self.path, self.reason, self.detail)


@dataclass
class LoadedImage:
    """A picture ready for a detector and the size of the upright original.

    Attributes:
        image (PIL.Image.Image): RGB, upright, long side <= ``max_side``.
        original_size (tuple of int): ``(width, height)`` of the upright
            image at full resolution; detected boxes are given in these
            pixel coordinates.
    """
    image: Image.Image
    original_size: Tuple[int, int]


def load_image(path: PathLike, max_side: int = 1333) -> Image.Image:
    """Reads ``path`` as an upright RGB image whose long side is at most
    ``max_side`` (see the module docstring for every kind of input).

    Raises:
        ImageError: naming the file, with a ``reason`` category.
    """
    return read_image(path, max_side).image


def read_image(path: PathLike, max_side: int = 1333) -> LoadedImage:
    """:func:`load_image`, also returning the size of the full-resolution
    upright image."""
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageError(path, "missing", "no such file")
    if os.path.isdir(path):
        raise ImageError(path, "unreadable", "a folder, not an image file")
    try:
        if os.path.getsize(path) == 0:
            raise ImageError(path, "empty", "the file has zero bytes")
        with warnings.catch_warnings():
            # Between one and two times Pillow's pixel limit Pillow only
            # warns; the image is downscaled below, so decoding it is safe.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return _decode(image, max_side)
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageError(
            path, "too-large", f"{error} Raise PIL.Image.MAX_IMAGE_PIXELS "
            f"if this file is trusted") from None
    except UnidentifiedImageError:
        raise ImageError(path, "not-an-image",
                         "not an image format Pillow can read") from None
    except PermissionError as error:
        raise ImageError(path, "unreadable", str(error)) from None
    except MemoryError:
        raise ImageError(path, "too-large", "not enough memory to decode "
                         "it") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError,
            TypeError) as error:
        message = str(error) or type(error).__name__
        reason = "truncated" if "truncated" in message.lower() else "corrupt"
        raise ImageError(path, reason, message) from None


def _decode(image: Image.Image, max_side: int) -> LoadedImage:
    """The first frame of the open ``image``, upright, in RGB and resized
    to a long side of at most ``max_side``."""
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    width, height = image.size
    if max(width, height) > max_side and image.format == "JPEG":
        scale = max_side / max(width, height)
        image.draft("RGB", (max(1, int(width * scale)),
                            max(1, int(height * scale))))
    image.load()  # before reading EXIF: a PNG's EXIF may follow its pixels
    orientation = _orientation(image)
    swapped = orientation in (5, 6, 7, 8)
    original_size = (height, width) if swapped else (width, height)
    high_bit = image.mode in HIGH_BIT_MODES
    if high_bit:
        # Resized before it becomes an array: at full size the float array
        # of a 13,000 x 13,000 image took 4.7 GB. The value range is read
        # at full size, as it decides how values map to 8 bits.
        value_range = image.getextrema()
        image = _shrink(image, max_side)
    if orientation not in (None, 1):
        image = ImageOps.exif_transpose(image)
    image = _gray_to_rgb(image, *value_range) if high_bit else _to_rgb(image)
    return LoadedImage(_shrink(image, max_side), original_size)


def _shrink(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` resized (aspect kept) to a long side of ``max_side`` when
    it is longer."""
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.size[0] * scale)),
            max(1, round(image.size[1] * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def _orientation(image: Image.Image):
    """The EXIF orientation (1-8) of ``image``, ``None`` when it has none or
    its EXIF block cannot be parsed."""
    try:
        value = image.getexif().get(0x0112)
    except Exception:  # a broken EXIF block does not make the pixels bad
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _gray_to_rgb(image: Image.Image, low: float,
                 high: float) -> Image.Image:
    """A 16- or 32-bit integer or float image (:data:`HIGH_BIT_MODES`)
    whose values span ``[low, high]`` as an 8-bit RGB picture (module
    docstring)."""
    values = np.array(image, dtype=np.float32)  # a copy, changed in place
    if low >= 0 and high <= 255:
        pass
    elif low >= 0 and high <= 65535:
        values /= 257.0
    else:
        values -= low
        values *= 255.0 / max(high - low, 1e-12)
    np.clip(np.rint(values, out=values), 0, 255, out=values)
    return Image.fromarray(values.astype(np.uint8)).convert("RGB")


def _to_rgb(image: Image.Image) -> Image.Image:
    """An 8-bit ``image`` as an RGB picture (module docstring)."""
    has_alpha = (image.mode in ("RGBA", "LA", "PA", "RGBa", "La")
                 or (image.mode == "P" and "transparency" in image.info))
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
