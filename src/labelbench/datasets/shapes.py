"""Procedural shapes: RGB images with a class, an object mask and keypoints for every object.

Everything is vectorised with NumPy over a chunk of images (loops run over shape classes and chunks, never
over pixels), and every random draw comes from one ``numpy.random.Generator`` seeded by the caller, so the
same parameters give the same bytes.

Each object is drawn in its own frame: ``u, v`` are the pixel coordinates relative to the object's centre,
rotated by its angle and divided by its radius, so every shape below is a predicate on ``(u, v)`` inside the
unit disc. Keypoints are the centre and the three points at angles θ, θ+120°, θ+240° on the unit circle
(the vertices of the triangle), mapped back to pixels.
"""

from __future__ import annotations

import numpy as np

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring", "crescent", "bar", "bowtie", "ell")
COLOURS = {
    "red": (225, 45, 40),
    "green": (40, 185, 70),
    "blue": (45, 90, 230),
    "yellow": (235, 215, 40),
    "magenta": (205, 55, 205),
    "cyan": (40, 205, 215),
    "white": (245, 245, 245),
    "orange": (245, 140, 30),
}
N_KEYPOINTS = 4
_SUPERSAMPLE = 2


def _inside(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    rho = np.hypot(u, v)
    phi = np.arctan2(v, u)
    au, av = np.abs(u), np.abs(v)
    if shape == "circle":
        return rho <= 0.95
    if shape == "square":
        return np.maximum(au, av) <= 0.72
    if shape == "triangle":  # regular triangle with circumradius 1, a vertex at angle 0
        sector = np.mod(phi, 2 * np.pi / 3) - np.pi / 3
        return rho * np.cos(sector) <= 0.5
    if shape == "star":
        return rho <= 0.42 + 0.58 * np.abs(np.cos(2.5 * phi)) ** 3
    if shape == "cross":
        return ((au <= 0.28) & (av <= 0.95)) | ((av <= 0.28) & (au <= 0.95))
    if shape == "ring":
        return (rho >= 0.55) & (rho <= 0.95)
    if shape == "crescent":
        return (rho <= 0.95) & (np.hypot(u - 0.45, v) > 0.75)
    if shape == "bar":
        return (au <= 0.95) & (av <= 0.26)
    if shape == "bowtie":
        return (av <= 0.85 * au) & (au <= 0.92)
    if shape == "ell":
        return ((u >= -0.8) & (u <= 0.8) & (v >= 0.3) & (v <= 0.8)) | (
            (u >= -0.8) & (u <= -0.3) & (v >= -0.8) & (v <= 0.8)
        )
    raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


def background(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Textured, noisy backgrounds: a dim base colour, two random plane waves and pixel noise (float 0–255)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(20, 110, size=(n, 1, 1, 3)).astype(np.float32)
    img = np.broadcast_to(base, (n, size, size, 3)).copy()
    for _ in range(2):
        freq = rng.uniform(1.0, 6.0, size=(n, 1, 1)).astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi, size=(n, 1, 1)).astype(np.float32)
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1)).astype(np.float32)
        wave = np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
        amp = rng.uniform(5, 25, size=(n, 1, 1, 3)).astype(np.float32)
        img += wave[..., None] * amp
    img += rng.normal(0, 8, size=img.shape).astype(np.float32)
    return img


def draw_objects(
    canvas: np.ndarray,
    shape_idx: np.ndarray,
    centre: np.ndarray,
    radius: np.ndarray,
    angle: np.ndarray,
    colour: np.ndarray,
    shapes: tuple[str, ...] = SHAPES,
) -> np.ndarray:
    """Paint one object per image onto ``canvas`` (N×S×S×3 float, modified in place); return N×S×S masks.

    ``centre`` is N×2 (x, y) in pixels, ``radius`` N pixels, ``angle`` N radians, ``colour`` N×3.
    Edges are anti-aliased by supersampling, and the mask is the pixels at least half covered.
    """
    n, size = canvas.shape[0], canvas.shape[1]
    ss = _SUPERSAMPLE
    grid = (np.arange(size * ss, dtype=np.float32) + 0.5) / ss
    coverage = np.zeros((n, size, size), dtype=np.float32)
    for k in np.unique(shape_idx):
        sel = np.flatnonzero(shape_idx == k)
        dx = grid[None, None, :] - centre[sel, 0, None, None]
        dy = grid[None, :, None] - centre[sel, 1, None, None]
        cos, sin = np.cos(angle[sel])[:, None, None], np.sin(angle[sel])[:, None, None]
        r = radius[sel][:, None, None]
        u = (dx * cos + dy * sin) / r
        v = (-dx * sin + dy * cos) / r
        hit = _inside(shapes[k], u, v).astype(np.float32)
        coverage[sel] = hit.reshape(len(sel), size, ss, size, ss).mean(axis=(2, 4))
    alpha = coverage[..., None]
    canvas *= 1 - alpha
    canvas += alpha * colour[:, None, None, :].astype(np.float32)
    return coverage >= 0.5


def keypoints(centre: np.ndarray, radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """N×K×2 keypoints in pixels: the centre, then three points 120° apart on the object's unit circle."""
    angles = angle[:, None] + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])[None, :]
    ring = centre[:, None, :] + radius[:, None, None] * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    return np.concatenate([centre[:, None, :], ring], axis=1)


def random_objects(
    rng: np.random.Generator,
    n: int,
    size: int,
    scale: tuple[float, float],
    max_rotation_deg: float = 180.0,
    margin: float = 1.0,
):
    """Random placement for one object per image: centre (N×2), radius (N), angle (N), colour name index."""
    radius = rng.uniform(scale[0], scale[1], size=n) * size / 2
    lo = radius * margin
    centre = np.stack([rng.uniform(lo, size - lo), rng.uniform(lo, size - lo)], axis=1)
    angle = np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg, size=n))
    colour_idx = rng.integers(0, len(COLOURS), size=n)
    return centre.astype(np.float32), radius.astype(np.float32), angle.astype(np.float32), colour_idx


def render_single(
    rng: np.random.Generator,
    shape_idx: np.ndarray,
    size: int,
    scale: tuple[float, float] = (0.55, 0.9),
    max_rotation_deg: float = 180.0,
    present: np.ndarray | None = None,
    chunk: int = 1024,
):
    """Images with (at most) one object each.

    Returns ``images`` (uint8 N×S×S×3), ``masks`` (uint8 N×S×S), ``keypoints`` (N×K×2 pixels) and
    ``colour_idx`` (N). Where ``present`` is False the image is background only, with an empty mask and
    zero keypoints.
    """
    n = len(shape_idx)
    present = np.ones(n, bool) if present is None else present
    palette = np.array(list(COLOURS.values()), dtype=np.float32)
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    kps = np.zeros((n, N_KEYPOINTS, 2), np.float32)
    colours = np.zeros(n, np.int64)
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        m = sl.stop - sl.start
        canvas = background(rng, m, size)
        centre, radius, angle, colour_idx = random_objects(rng, m, size, scale, max_rotation_deg)
        keep = np.flatnonzero(present[sl])
        if len(keep):
            sub = canvas[keep]
            mask = draw_objects(
                sub, shape_idx[sl][keep], centre[keep], radius[keep], angle[keep], palette[colour_idx[keep]]
            )
            canvas[keep] = sub
            masks[sl][keep] = mask
            kps[sl][keep] = keypoints(centre[keep], radius[keep], angle[keep])
        colours[sl] = colour_idx
        images[sl] = np.clip(canvas, 0, 255).round().astype(np.uint8)
    return images, masks, kps, colours


def render_scenes(
    rng: np.random.Generator,
    n: int,
    size: int,
    shape_probs: np.ndarray,
    colour_probs: np.ndarray,
    max_objects: int = 3,
    scale: tuple[float, float] = (0.18, 0.32),
    shapes: tuple[str, ...] = SHAPES,
):
    """Scenes of 1..max_objects objects whose shape and colour are drawn with the given frequencies.

    Returns ``images`` (uint8), and ``objects``: for every image a list of (shape, colour, box) with the
    box (x0, y0, x1, y1) in pixels, clipped to the image.
    """
    palette = np.array(list(COLOURS.values()), dtype=np.float32)
    colour_names = list(COLOURS)
    canvas = background(rng, n, size)
    counts = rng.integers(1, max_objects + 1, size=n)
    objects: list[list[tuple[str, str, tuple[int, int, int, int]]]] = [[] for _ in range(n)]
    for slot in range(max_objects):
        sel = np.flatnonzero(counts > slot)
        if not len(sel):
            break
        shape_idx = rng.choice(len(shapes), size=len(sel), p=shape_probs)
        colour_idx = rng.choice(len(palette), size=len(sel), p=colour_probs)
        centre, radius, angle, _ = random_objects(rng, len(sel), size, scale)
        sub = canvas[sel]
        mask = draw_objects(sub, shape_idx, centre, radius, angle, palette[colour_idx], shapes)
        canvas[sel] = sub
        for j, i in enumerate(sel):
            ys, xs = np.nonzero(mask[j])
            if len(xs) == 0:
                continue
            box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
            objects[i].append((shapes[shape_idx[j]], colour_names[colour_idx[j]], box))
    images = np.clip(canvas, 0, 255).round().astype(np.uint8)
    return images, objects


def zipf_probs(k: int, exponent: float) -> np.ndarray:
    """Frequencies ∝ 1/rank^exponent over k items: the strong imbalance of real tag sets."""
    p = 1.0 / np.arange(1, k + 1) ** exponent
    return p / p.sum()
