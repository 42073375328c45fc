"""The join link's QR poster for the counter: an A4 PDF with the organization's name on its
brand colour, its logo if it has one, a big QR of the join link and a short call to action."""

import io
import logging
import unicodedata
from pathlib import Path

from django.utils.translation import gettext as _
from fpdf import FPDF

from loyalty_platform.branding.models import Logo
from loyalty_platform.core.qr import qr_png
from tenants.branding import safe_brand_color, text_color_on
from tenants.models import Organization

# A Unicode font, so names such as "Kavinė Šešėlis" print as they are spelled. Debian's
# fonts-dejavu-core; without it the PDF's built-in Helvetica prints the names without accents.
FONTS = Path("/usr/share/fonts/truetype/dejavu")
REGULAR, BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
PAGE_WIDTH = 210
MARGIN = 20
BAND_HEIGHT = 48
QR_SIZE = 130
# fontTools logs each table it prunes while subsetting the font, at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)
NAME_SIZES = (28, 22, 17, 13)


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


class _Poster(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4", unit="mm")
        self.set_auto_page_break(False)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.unicode = REGULAR.exists() and BOLD.exists()
        if self.unicode:
            self.add_font("poster", "", str(REGULAR))
            self.add_font("poster", "B", str(BOLD))

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font("poster" if self.unicode else "helvetica", "B" if bold else "", size)

    def text_of(self, value: str) -> str:
        if self.unicode:
            return value
        # Helvetica knows Latin-1 only: drop the accents of the rest.
        folded = unicodedata.normalize("NFKD", value)
        return (
            "".join(c for c in folded if not unicodedata.combining(c))
            .encode("latin-1", "replace")
            .decode("latin-1")
        )

    def centred(self, value: str, height: float) -> None:
        self.set_x(MARGIN)
        self.multi_cell(PAGE_WIDTH - 2 * MARGIN, height, self.text_of(value), align="C")


def join_poster_pdf(*, organization: Organization, join_url: str) -> bytes:
    """The poster of `organization` (its schema is the current one) as PDF bytes."""
    brand = safe_brand_color(organization.brand_color)
    ink = text_color_on(brand)
    pdf = _Poster()
    pdf.set_title(_("Join %(name)s") % {"name": organization.name})
    pdf.set_author(organization.name)
    pdf.set_subject(join_url)
    pdf.set_creator("Loyalty platform")
    pdf.add_page()

    pdf.set_fill_color(*_rgb(brand))
    pdf.rect(0, 0, PAGE_WIDTH, BAND_HEIGHT, style="F")
    logo = Logo.objects.filter(is_current=True).first()
    name_left = MARGIN
    if logo is not None:
        box = BAND_HEIGHT - 16
        pdf.image(io.BytesIO(bytes(logo.png)), x=MARGIN, y=8, h=box, keep_aspect_ratio=True, w=box)
        name_left = MARGIN + box + 8
    pdf.set_text_color(*_rgb(ink))
    width = PAGE_WIDTH - MARGIN - name_left
    name = pdf.text_of(organization.name)
    # The largest size at which the name fits the band.
    for size in NAME_SIZES:
        pdf.font(size, bold=True)
        line_height = size * 0.45
        lines = pdf.multi_cell(width, line_height, name, dry_run=True, output="LINES")
        if len(lines) * line_height <= BAND_HEIGHT - 8:
            break
    pdf.set_xy(name_left, (BAND_HEIGHT - len(lines) * line_height) / 2)
    pdf.multi_cell(width, line_height, name, align="L" if logo is not None else "C")

    pdf.set_text_color(0, 0, 0)
    pdf.set_y(BAND_HEIGHT + 14)
    pdf.font(30, bold=True)
    pdf.centred(_("Join our loyalty program"), 13)
    pdf.ln(3)
    pdf.font(16)
    pdf.centred(
        _("Scan the code with your phone's camera, sign up and collect rewards from your next visit."), 8
    )

    qr = io.BytesIO(qr_png(join_url, box_size=10))
    pdf.image(qr, x=(PAGE_WIDTH - QR_SIZE) / 2, y=pdf.get_y() + 8, w=QR_SIZE, h=QR_SIZE)
    pdf.set_y(pdf.get_y() + 8 + QR_SIZE + 6)
    pdf.font(12)
    pdf.centred(_("Or open %(url)s") % {"url": join_url}, 6)
    return bytes(pdf.output())
