import io
import re

import qrcode
import qrcode.image.svg
from PIL import Image


def qr_png(data: str, box_size: int = 8, pixels: int | None = None) -> bytes:
    image = qrcode.make(data, box_size=box_size, border=2).get_image()
    if pixels:
        image = image.convert("L").resize((pixels, pixels), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(data: str, pixels: int | None = None) -> str:
    svg = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2).to_string(
        encoding="unicode"
    )
    if pixels:
        # The root element carries its size in mm; state it in pixels instead.
        svg = re.sub(r'width="[^"]*" height="[^"]*"', f'width="{pixels}" height="{pixels}"', svg, count=1)
    return svg
