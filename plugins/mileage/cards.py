"""The rank card: a PNG drawn with Pillow. Pure (bytes in, bytes out): call it off the event loop."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

WIDTH, HEIGHT = 934, 282
AVATAR = 190
BACKGROUND = (35, 39, 42)
PANEL = (24, 26, 28)
ACCENT = (98, 211, 245)
TEXT = (255, 255, 255)
MUTED = (160, 165, 170)
MAX_AVATAR_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class CardFigures:
    """What the card shows (also the cache key: a change of any figure draws a new card)."""

    name: str
    level: int
    rank: int
    points: int
    into: int
    needed: int
    tier: str | None
    next_tier: str | None
    avatar_key: str


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "LiberationSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _avatar(data: bytes | None, name: str) -> Image.Image:
    """The avatar as a circle; initials on a coloured disc when there is none or it cannot be read."""
    size = AVATAR
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), fill=255)
    picture: Image.Image | None = None
    if data and len(data) <= MAX_AVATAR_BYTES:
        try:
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height <= 4096 * 4096:
                    picture = img.convert("RGBA").resize((size, size))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            picture = None
    if picture is None:
        hue = sum(name.encode()) % 360
        colour = tuple(int(c) for c in _hsv(hue))
        picture = Image.new("RGBA", (size, size), (*colour, 255))
        draw = ImageDraw.Draw(picture)
        letter = (name[:1] or "?").upper()
        font = _font(96)
        box = draw.textbbox((0, 0), letter, font=font)
        draw.text(((size - (box[2] - box[0])) / 2 - box[0], (size - (box[3] - box[1])) / 2 - box[1]), letter, font=font)
    out = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    out.paste(picture, (0, 0), mask)
    return out


def _hsv(hue: int) -> tuple[float, float, float]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(hue / 360, 0.55, 0.85)
    return r * 255, g * 255, b * 255


def _short(n: int) -> str:
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 10_000:
        return f"{n / 1000:.1f}K"
    return f"{n:,}"


def render_card(figures: CardFigures, avatar: bytes | None) -> bytes:
    """Draw the card: avatar, name, rank, level, tier, progress bar to the next level. Returns PNG bytes."""
    img = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((16, 16, WIDTH - 16, HEIGHT - 16), radius=18, fill=PANEL)
    disc = _avatar(avatar, figures.name)
    img.paste(disc, (46, (HEIGHT - AVATAR) // 2), disc)
    left = 46 + AVATAR + 36
    name = figures.name if len(figures.name) <= 24 else figures.name[:23] + "…"
    draw.text((left, 150), name, font=_font(40), fill=TEXT, anchor="ls")
    draw.text(
        (WIDTH - 50, 70), f"RANK #{figures.rank}   LEVEL {figures.level}", font=_font(34), fill=ACCENT, anchor="rs"
    )
    tier = f"Tier: {figures.tier}" if figures.tier else "No tier yet"
    if figures.next_tier:
        tier += f"  ·  next: {figures.next_tier}"
    draw.text((left, 100), tier[:60], font=_font(22), fill=MUTED, anchor="ls")
    draw.text(
        (WIDTH - 50, 150),
        f"{_short(figures.into)} / {_short(figures.needed)} XP",
        font=_font(24),
        fill=MUTED,
        anchor="rs",
    )
    bar = (left, 172, WIDTH - 50, 212)
    draw.rounded_rectangle(bar, radius=20, fill=(72, 75, 78))
    fraction = min(1.0, figures.into / figures.needed) if figures.needed else 1.0
    if fraction > 0:
        end = bar[0] + max(40, int((bar[2] - bar[0]) * fraction))
        draw.rounded_rectangle((bar[0], bar[1], end, bar[3]), radius=20, fill=ACCENT)
    draw.text((left, 248), f"{figures.points:,} points in total", font=_font(20), fill=MUTED, anchor="ls")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()
