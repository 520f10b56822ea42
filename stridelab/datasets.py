"""A small synthetic image data set to train a CNN on in seconds (notebook 07).

Each image is 16×16, one channel, and shows one of four strokes drawn at a random place,
size and brightness, on a noisy background:

- ``horizontal`` and ``vertical`` bars, one or two pixels thick;
- a ``diagonal`` bar, falling or rising;
- a ``box``: the outline of a square.

A classifier has to find oriented edges anywhere in the picture — the job of convolutions —
and noise keeps a single pixel from giving the answer away. Everything is generated from a
seed, so the data are the same on every machine and nothing is downloaded.

>>> data = shapes_dataset(train=40, test=20)
>>> data.x_train.shape, data.y_train[:4], data.classes[data.y_train[0]]
((40, 1, 16, 16), array([0, 1, 2, 3]), 'horizontal')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stridelab.plotting import CMAP, FigureDisplay, new_figure

__all__ = ["CLASSES", "Dataset", "make_images", "sample_figure", "shapes_dataset"]

CLASSES = ("horizontal", "vertical", "diagonal", "box")
SIZE = 16


@dataclass(frozen=True)
class Dataset:
    """Images ``(N, 1, H, W)`` as float32 and integer labels, split into train and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...] = CLASSES


def _stroke(kind: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """A clean 0/1 picture of one stroke of class ``kind``."""
    image = np.zeros((size, size))
    thick = int(rng.integers(1, 3))
    if kind in (0, 1):  # a bar: horizontal, or vertical by transposing
        length = int(rng.integers(6, size - 3))
        row = int(rng.integers(1, size - thick))
        start = int(rng.integers(0, size - length + 1))
        image[row:row + thick, start:start + length] = 1
        return image if kind == 0 else image.T
    if kind == 2:  # a diagonal bar, falling or rising
        length = int(rng.integers(6, size - 4))
        top, left = (int(v) for v in rng.integers(0, size - length - 1, size=2))
        steps = np.arange(length)
        image[top + steps, left + steps] = 1
        image[top + steps + thick - 1, left + steps] = 1
        return image if rng.random() < 0.5 else image[:, ::-1]
    side = int(rng.integers(5, 10))  # a box outline
    top, left = (int(v) for v in rng.integers(0, size - side + 1, size=2))
    image[top:top + side, left:left + side] = 1
    image[top + 1:top + side - 1, left + 1:left + side - 1] = 0
    return image


def make_images(labels: np.ndarray, rng: np.random.Generator, size: int = SIZE,
                noise: float = 0.3) -> np.ndarray:
    """One noisy image per label, shape ``(len(labels), 1, size, size)``, float32."""
    images = np.empty((len(labels), 1, size, size), dtype=np.float32)
    for index, label in enumerate(labels):
        brightness = rng.uniform(0.6, 1.0)
        background = rng.uniform(-0.2, 0.2)
        images[index, 0] = (background + brightness * _stroke(int(label), rng, size)
                            + noise * rng.standard_normal((size, size)))
    return images


def shapes_dataset(train: int = 3000, test: int = 600, seed: int = 0,
                   noise: float = 0.3) -> Dataset:
    """The four-class stroke data set: ``train`` and ``test`` images, classes balanced.

    Labels cycle 0, 1, 2, 3, … so every class has the same number of images; train and
    test images are drawn independently from the same seed.
    """
    rng = np.random.default_rng(seed)
    y_train = np.arange(train) % len(CLASSES)
    y_test = np.arange(test) % len(CLASSES)
    return Dataset(make_images(y_train, rng, noise=noise), y_train,
                   make_images(y_test, rng, noise=noise), y_test)


def sample_figure(data: Dataset, per_class: int = 6) -> FigureDisplay:
    """A grid of training images: one row per class."""
    classes = len(data.classes)
    fig = new_figure(1.3 * per_class + 1, 1.35 * classes)
    axes = fig.subplots(classes, per_class, squeeze=False)
    for label in range(classes):
        picks = np.flatnonzero(data.y_train == label)[:per_class]
        for column, index in enumerate(picks):
            ax = axes[label, column]
            ax.imshow(data.x_train[index, 0], cmap=CMAP)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[label, 0].set_ylabel(data.classes[label], rotation=0, ha="right", va="center")
    h, w = data.x_train.shape[2:]
    fig.suptitle(f"Training images, {h}×{w}, one class per row")
    alt = (f"A grid of {classes * per_class} noisy {h}×{w} images, one row per class: "
           + ", ".join(data.classes) + ". Each shows one bright stroke at a random place "
           "on a grainy background.")
    return FigureDisplay(fig, alt)
