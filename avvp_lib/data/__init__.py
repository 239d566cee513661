"""LLP on-disk format: annotations (CSV) and per-video feature files (.npy)."""
from avvp_lib.data.annotations import load_dense_labels, load_weak_labels
from avvp_lib.data.features import FEATURE_SHAPES, load_features
from avvp_lib.data.splits import LLPSplit, load_split

__all__ = ["FEATURE_SHAPES", "LLPSplit", "load_dense_labels", "load_features", "load_split", "load_weak_labels"]
