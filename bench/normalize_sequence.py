"""A registered sequence whose gradient changes frame by frame (a large nebula in the field, a satellite
trail in one frame): normalizing to a reference against extracting each frame on its own.

Prints how alike the frames' backgrounds are (the spread between frames of their 64-pixel block
medians, each frame's median set aside, in % of the sky), then stacks each set (per-pixel 3-sigma
clipped mean, the kind of rejection Siril's `stack ... rej` does), extracts the master's background
once, and gives the flatness of what is left besides the sky's own light, the nebula flux kept, what
is left of the trail, and the time per frame.

    python bench/normalize_sequence.py                 # 1500x1000, 8 frames
    python bench/normalize_sequence.py --size 3000x2000 --frames 6
    python bench/normalize_sequence.py --sky galaxy     # a galaxy filling much of the frame, glows from the edges

Also each frame's background against the reference's once normalized (the spread of the 64-pixel block
medians of their difference, in % of the sky): the median and the worst frame.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bgoptimizer import Parameters, extract_background, normalize_to_reference
from bgoptimizer.method.prepare.downscale import block_reduce
from bgoptimizer.synthetic import GRADIENTS, make_glow_scene, make_scene

# The galaxy sequence's gradients: light entering from the edges, a new sky drawn for each frame.
_GLOWS = ("two_glows", "horizon", "glow_big_galaxy", "horizon_galaxy", "two_glows_galaxy")


def sequence(width: int, height: int, count: int, sky_kind: str = "nebula", seed: int = 1):
    """Frames of one sky (a nebula or a galaxy filling much of the frame, stars) under a different gradient
    each, with transparency changes."""
    if sky_kind == "galaxy":
        sky_scene = make_glow_scene("glow_big_galaxy", seed, width, height)
    else:
        sky_scene = make_scene(width, height, gradient_kind="dome", nebula=True, seed=seed)
    sky = sky_scene.image - sky_scene.background
    rng = np.random.default_rng(seed)
    frames, scales, gradients = [], [], []
    for index in range(count):
        if sky_kind == "galaxy":
            glows = make_glow_scene(_GLOWS[index % len(_GLOWS)], seed + index + 1, width, height).background
            gradient = glows - float(np.median(glows)) + float(np.median(sky_scene.background))
        else:
            gradient = make_scene(width, height, gradient_kind=GRADIENTS[index % len(GRADIENTS)], nebula=False,
                                  seed=seed + index).background
        gradient = gradient * rng.uniform(0.7, 1.6)
        scale = 1.0 if index == 0 else rng.uniform(0.8, 1.0)
        frame = scale * (sky + rng.normal(0.0, 0.002, sky.shape).astype(np.float32)) + gradient
        if index == count // 2:
            frame[:, trail_rows(height)] += 0.05  # a satellite trail
        frames.append(frame.astype(np.float32))
        scales.append(scale)
        gradients.append(gradient)
    return frames, sky_scene, scales, gradients


def trail_rows(height: int) -> slice:
    """The rows the satellite trail crosses, in the sequence's middle frame."""
    return slice(height // 3, height // 3 + 3)


def clipped_mean(frames: list[np.ndarray], kappa: float = 3.0) -> np.ndarray:
    stack = np.stack(frames)
    center = np.median(stack, axis=0)
    spread = 1.4826 * np.median(np.abs(stack - center), axis=0)
    kept = np.abs(stack - center) <= kappa * np.maximum(spread, 1e-6)
    return (np.where(kept, stack, 0.0).sum(axis=0) / np.maximum(kept.sum(axis=0), 1)).astype(np.float32)


def spread_between(frames: list[np.ndarray], sky: float) -> float:
    blocks = np.stack([block_reduce(frame, 64) for frame in frames])
    blocks -= np.median(blocks, axis=(2, 3), keepdims=True)  # each frame's own sky level set aside
    return float(100 * (blocks - blocks.mean(axis=0)).std() / sky)


def from_reference(frames: list[np.ndarray], sky: float, trail: slice) -> list[float]:
    """Each later frame's background against the first's: the spread of the 64-pixel block medians of their
    difference (each frame's median set aside, the trail's rows left out), in % of the sky."""
    def blocks(frame: np.ndarray) -> np.ndarray:
        kept = frame.copy()
        kept[:, trail] = np.nan  # NaN is what the block median leaves out
        return block_reduce(kept, 64)

    reference = blocks(frames[0])
    spreads = []
    for frame in frames[1:]:
        difference = blocks(frame) - reference
        difference -= np.median(difference, axis=(1, 2), keepdims=True)
        spreads.append(float(100 * difference.std() / sky))
    return spreads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1500x1000")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--sky", choices=("nebula", "galaxy"), default="nebula")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    frames, scene, scales, gradients = sequence(width, height, args.frames, args.sky)
    trail = trail_rows(height)
    params = Parameters()
    sky_level = float(np.median(scene.background))
    signal = scene.image - scene.background  # the sky's own light (stars, nebula) and frame 1's noise
    nebula = scene.nebula > 0.2 * scene.noise
    print(f"| {args.frames} frames {args.size} | spread between frames, % of sky | master after one extraction: "
          "background flatness, % of sky | nebula flux kept % | trail left, % of sky | s per frame |")
    print("|---|---|---|---|---|---|")
    for name in ("normalized to frame 1", "extracted frame by frame"):
        start = time.perf_counter()
        if name.startswith("normalized"):
            done = [frames[0]] + [normalize_to_reference(frame, frames[0], params).normalized for frame in frames[1:]]
            brightness = 1.0  # the reference's
        else:
            done = [extract_background(frame, params).corrected for frame in frames]
            brightness = float(np.mean(scales))
        per_frame = (time.perf_counter() - start) / len(frames)
        corrected = extract_background(clipped_mean(done), params).corrected
        left = corrected - brightness * signal  # what is not the sky's light: background residue and noise
        left -= np.median(left, axis=(1, 2), keepdims=True)
        flatness = 100 * float(block_reduce(left, 64).std()) / sky_level
        flux = 100 * float((left * nebula).sum()) / float((brightness * scene.nebula * nebula).sum()) + 100
        trail_left = 100 * float(left[:, trail].mean()) / sky_level
        # each frame's sky light at the reference's brightness: normalization undid the scales, extraction did not
        undone = [1.0] * len(done) if name.startswith("normalized") else scales
        apart = from_reference([frame / scale for frame, scale in zip(done, undone)], sky_level, trail)
        print(f"| {name} | {spread_between(done, sky_level):.2f} | {flatness:.2f} | {flux:.0f} | {trail_left:.2f} | "
              f"{np.median(apart):.2f} / {max(apart):.2f} (frame {2 + int(np.argmax(apart))}) | {per_frame:.2f} |")
    floor = from_reference([(frame - gradient) / scale for frame, gradient, scale in zip(frames, gradients, scales)],
                           sky_level, trail)
    print(f"the frames less their true gradients (the noise's share of the last measure): {np.median(floor):.2f} / "
          f"{max(floor):.2f}")
    print(f"transparency drawn: {' '.join(f'{s:.3f}' for s in scales)}")


if __name__ == "__main__":
    main()
