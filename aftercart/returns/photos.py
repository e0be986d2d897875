"""Photos a customer adds to a return: checked to be images, made smaller, metadata dropped.

Every photo is decoded and written again as a JPEG. What a camera writes into a file
(where and when it was taken, the phone's serial number) does not survive that, and a
file that only claims to be an image does not get through at all.
"""

import io
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024  # per upload, as sent
MAX_PHOTOS = 5
MAX_SIDE = 1600  # pixels; enough to see a scratch, small enough to keep
# A small file that unpacks into a huge picture is refused before it is unpacked.
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "HEIC", "MPO"}


class PhotoProblem(ValueError):
    """A photo that cannot be kept; the message is for the customer."""


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    width: int
    height: int


def clean_photo(data: bytes, name: str = "") -> Photo:
    label = name or _("the photo")
    if len(data) > MAX_BYTES:
        raise PhotoProblem(
            _("%(name)s is larger than %(mb)d MB.") % {"name": label, "mb": MAX_BYTES // 2**20}
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise PhotoProblem(_("%(name)s is not a photo.") % {"name": label})
            if image.width * image.height > MAX_PIXELS:
                raise PhotoProblem(_("%(name)s has too many pixels.") % {"name": label})
            image.load()
            # Turned the way the camera held it, then written without any metadata.
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise PhotoProblem(_("%(name)s is not a photo.") % {"name": label}) from None
    upright = upright.convert("RGB")
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85, optimize=True)
    return Photo(out.getvalue(), upright.width, upright.height)
