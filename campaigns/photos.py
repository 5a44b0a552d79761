"""Photos in action reports: checked by decoding, re-encoded without metadata.

People at a protest in front of an embassy can be at risk: a photo's EXIF can hold
the GPS position, the camera's serial number and the time. Nothing of the upload is
kept but its pixels: it is decoded (JPEG, PNG or WebP only, whatever its name
says), turned upright, shrunk and encoded afresh as a JPEG with no metadata.
"""

import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTOS = 5
MAX_BYTES = 8 * 1024 * 1024
# A small file can declare a huge image (a "decompression bomb"): the declared
# size is checked before any pixel is decoded. 40 megapixels is more than phones take.
MAX_PIXELS = 40_000_000
MAX_SIDE = 2000
FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 85


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    width: int
    height: int


def _refuse(name: str, problem: str) -> ValidationError:
    return ValidationError(
        _("The photo “%(name)s” %(problem)s"),
        code="photo",
        params={"name": name[:80], "problem": problem},
    )


def _flattened(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency laid on white, as a JPEG has none."""
    if image.mode in ("RGBA", "LA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _complete(raw: bytes, image_format: str) -> bool:
    """Whether the file reaches its format's end marker.

    WeasyPrint, imported for the sign-up sheets, tells Pillow to accept truncated
    images everywhere in the process: a cut file would then decode, grey where its
    end should be, instead of failing. In a JPEG an FF byte in the coded data is
    always followed by 00, so an end-of-image marker after the last start-of-scan
    is the real end (an EXIF thumbnail's comes before it).
    """
    if image_format == "JPEG":
        scan = raw.rfind(b"\xff\xda")
        return scan >= 0 and raw.find(b"\xff\xd9", scan) >= 0
    if image_format == "PNG":
        return b"IEND" in raw[-16:]
    if image_format == "WEBP":
        declared = int.from_bytes(raw[4:8], "little") + 8
        return len(raw) >= 12 and declared <= len(raw)
    return False


def clean_photo(upload: UploadedFile) -> CleanPhoto:
    """The upload as a metadata-free JPEG at most MAX_SIDE pixels wide and high.

    Raises ValidationError naming the file and what is wrong with it.
    """
    name = upload.name or _("without a name")
    if upload.size is not None and upload.size > MAX_BYTES:
        raise _refuse(name, _("is larger than 8 MB."))
    upload.seek(0)
    raw = upload.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise _refuse(name, _("is larger than 8 MB."))
    not_an_image = _("is not a JPEG, PNG or WebP image.")
    try:
        image = Image.open(io.BytesIO(raw), formats=FORMATS)
    except Image.DecompressionBombError:
        raise _refuse(name, _("is too large an image (over 40 megapixels).")) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise _refuse(name, not_an_image) from None
    if not _complete(raw, image.format or ""):
        raise _refuse(name, _("is damaged and cannot be read."))
    width, height = image.size
    if width < 1 or height < 1:
        raise _refuse(name, not_an_image)
    if width * height > MAX_PIXELS:
        raise _refuse(name, _("is too large an image (over 40 megapixels)."))
    try:
        # A JPEG can be decoded at a fraction of its size: less memory, same result.
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))
        image.load()
        # Orientation first: it lives in the EXIF that is about to be dropped.
        upright = ImageOps.exif_transpose(image)
        pixels = _flattened(upright)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise _refuse(name, _("is damaged and cannot be read.")) from None
    pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A new image holds the pixels and nothing else: no info dict, no EXIF, no
    # XMP, no ICC profile, no text chunks to carry over by accident.
    bare = Image.new("RGB", pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(data=out.getvalue(), width=bare.width, height=bare.height)
