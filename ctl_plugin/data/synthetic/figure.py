"""Identities as outfits, and drawing a dressed walker from its key-points.

An identity is an `Outfit`: colours of hair, skin, shirt (with a texture),
sleeves, trousers and shoes. Outfits are drawn from a small palette and often
made in pairs that share every colour but differ in where they are worn
(shirt and trousers swapped) or in the shirt texture only, so whole-body colour
does not tell identities apart.
"""
from dataclasses import dataclass, replace

import cv2
import numpy as np

from . import walking_pose as wp

PALETTE = (  # BGR clothing colours
    (40, 40, 190), (150, 70, 30), (60, 140, 50), (40, 190, 210), (225, 225, 225),
    (30, 30, 30), (125, 125, 125), (90, 40, 120), (40, 80, 130), (30, 120, 230),
)
SKINS = ((150, 180, 225), (105, 140, 195), (70, 95, 140), (170, 200, 235))
HAIRS = ((20, 20, 25), (30, 50, 80), (90, 170, 210), (160, 160, 160))
PATTERNS = ("plain", "hstripes", "vstripes", "checks")
SLEEVES = ("long", "short", "none")
LEGWEAR = ("long", "shorts")

# Drawing thickness, in units of height.
THICKNESS = {"upper_arm": 0.056, "forearm": 0.046, "thigh": 0.088, "shank": 0.068,
             "shoe": 0.05, "neck": 0.05, "hand": 0.026}
SUBPIXEL_BITS = 4
_ONE = 1 << SUBPIXEL_BITS


@dataclass(frozen=True)
class Outfit:
    skin: tuple
    hair: tuple
    shirt: tuple
    pattern: str
    pattern_colour: tuple
    sleeves: str
    trousers: tuple
    legwear: str
    shoes: tuple

    def part_colours(self):
        """BGR colour of each drawn part."""
        sleeve = {"long": (self.shirt, self.shirt), "short": (self.shirt, self.skin),
                  "none": (self.skin, self.skin)}[self.sleeves]
        return {"upper_arm": sleeve[0], "forearm": sleeve[1], "thigh": self.trousers,
                "shank": self.trousers if self.legwear == "long" else self.skin,
                "shoe": self.shoes, "neck": self.skin, "hand": self.skin}


def random_outfit(rng):
    shirt, trousers, pattern_colour = rng.choice(len(PALETTE), 3, replace=False)
    return Outfit(skin=SKINS[rng.integers(len(SKINS))], hair=HAIRS[rng.integers(len(HAIRS))],
                  shirt=PALETTE[shirt], pattern=PATTERNS[rng.integers(len(PATTERNS))],
                  pattern_colour=PALETTE[pattern_colour], sleeves=SLEEVES[rng.integers(len(SLEEVES))],
                  trousers=PALETTE[trousers], legwear=LEGWEAR[rng.integers(len(LEGWEAR))],
                  shoes=PALETTE[rng.integers(len(PALETTE))])


def make_outfits(rng, count, p_swapped=0.35, p_pattern_twin=0.25):
    """`count` distinct outfits; some come as a twin of the previous one with shirt
    and trouser colours swapped, or with only the shirt texture changed."""
    outfits, seen = [], set()
    while len(outfits) < count:
        roll = rng.random()
        if outfits and roll < p_swapped:
            last = outfits[-1]
            candidate = replace(last, shirt=last.trousers, trousers=last.shirt)
        elif outfits and roll < p_swapped + p_pattern_twin:
            last = outfits[-1]
            others = [p for p in PATTERNS if p != last.pattern]
            candidate = replace(last, pattern=others[rng.integers(len(others))])
        else:
            candidate = random_outfit(rng)
        if candidate not in seen:
            seen.add(candidate)
            outfits.append(candidate)
    return outfits


def _fixed(points):
    return np.round(np.asarray(points) * _ONE).astype(np.int32)


def _segment(img, a, b, colour, width):
    cv2.line(img, tuple(_fixed(a)), tuple(_fixed(b)), colour, max(1, int(round(width))),
             cv2.LINE_AA, SUBPIXEL_BITS)


def _disc(img, centre, radius, colour):
    cv2.circle(img, tuple(_fixed(centre)), int(round(radius * _ONE)), colour, -1, cv2.LINE_AA,
               SUBPIXEL_BITS)


def _hull(points_xy):
    return cv2.convexHull(np.round(points_xy).astype(np.float32)).reshape(-1, 2)


def _textured_polygon(img, polygon, outfit, height_px):
    """Fill `polygon` with the shirt colour and its texture (stripes/checks in pixels)."""
    colour = np.array(outfit.shirt, np.uint8)
    if outfit.pattern == "plain":
        cv2.fillConvexPoly(img, _fixed(polygon), outfit.shirt, cv2.LINE_AA, SUBPIXEL_BITS)
        return
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, _fixed(polygon), 255, cv2.LINE_AA, SUBPIXEL_BITS)
    period = max(2.0, 0.04 * height_px)
    x0, y0 = polygon[:, 0].mean(), polygon[:, 1].min()
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    rows = np.floor((yy - y0) / period).astype(int) % 2
    cols = np.floor((xx - x0) / period).astype(int) % 2
    stripe = {"hstripes": rows, "vstripes": cols, "checks": rows ^ cols}[outfit.pattern].astype(bool)
    fill = np.where(stripe[..., None], np.array(outfit.pattern_colour, np.uint8), colour)
    alpha = mask[..., None].astype(np.float32) / 255.0
    img[:] = np.round(img * (1 - alpha) + fill * alpha).astype(np.uint8)


def draw_figure(img, outfit, body_kp, yaw, height_px, foot_x, ground_y):
    """Draw the walker with body key-points `body_kp` [17, 3] into the BGR uint8 `img`,
    far parts first. Returns frame key-points (x, y) [17, 2] and a mask [17] of those
    hidden by the figure itself (the back of the head, limbs behind the torso)."""
    def proj(points):
        return wp.project(wp.to_world(np.asarray(points, float), yaw), height_px, foot_x, ground_y)

    xy, depth = proj(body_kp)
    colours = outfit.part_colours()
    torso_xy, _ = proj(wp.torso_box(body_kp))
    torso = _hull(torso_xy)
    hip_u, shoulder_u = body_kp[11, 1], body_kp[5, 1]
    pelvis = np.array([[sx * (wp.HIP[0] + 0.04), u, sz * wp.TORSO_HALF_DEPTH]
                       for sx in (-1, 1) for sz in (-1, 1) for u in (hip_u + 0.05, hip_u - 0.06)])
    pelvis = _hull(proj(pelvis)[0])
    forward = wp.to_world(np.array([0.0, 0.0, 1.0]), yaw)
    shoe_offset = height_px * 0.05 * np.array([forward[0], 0.0])

    items = []  # (depth, order, draw)
    for i, j, part in ((5, 7, "upper_arm"), (6, 8, "upper_arm"), (7, 9, "forearm"), (8, 10, "forearm"),
                       (11, 13, "thigh"), (12, 14, "thigh"), (13, 15, "shank"), (14, 16, "shank")):
        items.append(((depth[i] + depth[j]) / 2, len(items),
                      lambda a=xy[i], b=xy[j], c=colours[part], w=THICKNESS[part] * height_px:
                      _segment(img, a, b, c, w)))
    for ankle in (15, 16):
        items.append((depth[ankle] + 0.01, len(items),
                      lambda a=xy[ankle]: _segment(img, a + [0, 0.01 * height_px], a + shoe_offset,
                                                   colours["shoe"], THICKNESS["shoe"] * height_px)))
    for wrist in (9, 10):
        items.append((depth[wrist] + 0.01, len(items),
                      lambda a=xy[wrist]: _disc(img, a, THICKNESS["hand"] * height_px, colours["hand"])))
    neck = proj([[0, shoulder_u, 0], [0, wp.HEAD_CENTRE[1], 0]])[0]
    items.append((-0.002, len(items), lambda: _segment(img, neck[0], neck[1], colours["neck"],
                                                       THICKNESS["neck"] * height_px)))
    items.append((-0.001, len(items), lambda: cv2.fillConvexPoly(
        img, _fixed(pelvis), outfit.trousers, cv2.LINE_AA, SUBPIXEL_BITS)))
    items.append((0.0, len(items), lambda: _textured_polygon(img, torso, outfit, height_px)))
    items.sort(key=lambda item: (item[0], item[1]))
    for _, _, draw in items:
        draw()
    _draw_head(img, outfit, proj(wp.HEAD_CENTRE)[0], yaw, height_px)

    inside_torso = np.array([cv2.pointPolygonTest(torso.astype(np.float32), (float(x), float(y)), False) >= 0
                             for x, y in xy])
    behind = depth < -0.01
    hidden = behind & (inside_torso | (np.arange(17) < 5))
    return xy, hidden


def _draw_head(img, outfit, centre, yaw, height_px):
    """A hair-coloured disc with a skin-coloured face on the side the person faces
    (no face when they face away)."""
    r = wp.HEAD_RADIUS * height_px
    _disc(img, centre, r, outfit.hair)
    if np.cos(yaw) > -0.3:
        _disc(img, centre + [0.3 * r * np.sin(yaw), 0.2 * r], 0.76 * r, outfit.skin)
