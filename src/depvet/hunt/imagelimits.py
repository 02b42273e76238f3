"""Bounds on what reading one container image may cost, and the error it raises when it cannot.

Images are bigger than packages (a Python base image is ~1 GB unpacked, in 100k files), so these
are not ``depvet.artifacts.limits.Limits``; they keep its shape: a limit crossed is an error with
a one-line message, never a hang or an unbounded allocation.
"""

from __future__ import annotations

from dataclasses import dataclass

from depvet.artifacts.limits import DEFAULT_LIMITS, MIB
from depvet.errors import ArtifactError, BudgetExhausted

GIB = 1024 * MIB


class ImageError(ArtifactError):
    """A container image, or one blob of it, cannot be read: not an image, corrupt, truncated."""


class UnsupportedLayer(ImageError):
    """A layer in a format depvet does not read (zstd): skipped, reported, never fatal."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageLimits:
    max_layers: int = 512  # Docker refuses more than 127; OCI sets no bound
    max_layer_members: int = 1_000_000  # tar headers in one layer
    max_container_members: int = 100_000  # members of a `docker save` or OCI layout tarball
    # Decompressed bytes of one layer, and of every layer of the image together.
    max_layer_bytes: int = 32 * GIB
    max_total_bytes: int = 64 * GIB
    # Decompressed/compressed for one layer, checked once its output passes the floor: a layer
    # that expands 100x past 1 GiB is a bomb (a gzip of zeros expands ~1000x).
    max_ratio: float = DEFAULT_LIMITS.max_ratio
    ratio_floor_bytes: int = 1 * GIB
    max_json_bytes: int = 16 * MIB  # manifest.json, index.json, image manifests and configs
    max_index_depth: int = DEFAULT_LIMITS.max_depth  # image indexes nested in image indexes
    max_extension_bytes: int = 1 * MIB  # the data of one pax or GNU long-name tar header
    # Compressed layers cannot be re-read at an offset, so the bytes the checks may want are kept
    # while the layer streams past (see ``depvet.hunt.imagelayers.Keeper``).
    small_file_bytes: int = 1 * MIB  # any file up to this size is kept, for IOC hash/domain checks
    max_kept_bytes: int = 256 * MIB  # ... until this much is kept for the whole image
    max_kept_startup_bytes: int = 128 * MIB  # separate room for the paths the checks always read


DEFAULT_IMAGE_LIMITS = ImageLimits()


class ByteBudget:
    """Decompressed bytes spent on one image so far; crossing the total is fatal for the image."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.spent = 0

    def spend(self, nbytes: int, where: str) -> None:
        self.spent += nbytes
        if self.spent > self.total:
            raise BudgetExhausted(
                f"the image's layers expand to more than {self.total // GIB} GiB "
                f"(stopped in {where}): not read further"
            )
