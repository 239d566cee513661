"""Generate a synthetic LLP-like world in LLP's exact on-disk format.

Labels follow the real annotations (``llp_statistics.json``): weak-label sets are drawn
from the empirical train label sets; each class becomes audio+visual, audio-only or
visual-only with its per-class LLP frequency; each modality's segments cover ``n`` segments
(per-class, per-modality empirical histogram) in ``k`` runs (per-modality histogram); an
audio+visual class reuses the audio segments for vision with LLP's measured frequency.

Features come from one latent model (``latent.LatentSpace``), with every parameter in
``FeatureModel``:
- CLIP-like visual segment feature: ``sum_c strength_c,t * U[c] + bg_weight * b_video + noise``,
  over the classes visible in segment t; ``strength = clarity_c * U(occlusion_min, 1)``;
  ``b_video`` mixes the shared background with a per-video scene; with probability
  ``distractor_prob`` a segment also shows an unlabelled class at ``distractor_strength``.
  ViT-B/16 and ViT-B/32 views differ only by their noise level. ``clip_gap`` and
  ``prompt_offset`` shape the text side (``synthetic.text_encoder.SyntheticTextEncoder``): the scale of
  image-text cosines, hence of PLG's softmax scores, and how much less the prompts of classes
  seldom visible in LLP match every frame; they leave the image features alone. CLIP-like features are written
  per frame (80 x 512 float16, as the official LSLD release): the 8 frames of a segment share
  its latent and its segment noise and add a smaller per-frame noise, so a segment's frames are
  strongly correlated, as real video frames are.
- VGGish-like audio (128-d): the same construction in the audio space for audible classes.
- CLAP-like audio (10x512, kind ``clap_audioset`` as the official LSLD release): the same audio
  latent lifted into a CLAP-like audio-text space (``clap_space.ClapSpace``).
- R(2+1)D-like (10x512) and ResNet-152-like (80x2048) features are fixed random linear
  views of the noiseless visual latent with more noise (per frame for ResNet): weaker views.
The default ``FeatureModel`` of ``WorldConfig`` holds the values that
``scripts/calibrate_world.py`` fitted to the published measurements of these inputs
(``calibration.json``; the list is ``calibration.CALIBRATION_TARGETS``); ``FeatureModel()``
itself holds the uncalibrated priors. Nothing is fitted to any other paper number.
Each video draws its labels and latent from one RNG stream and each feature kind its noise from
its own child stream, so a subset of kinds (``FeatureSampler.sample(kinds=...)``) is generated
exactly as in the full world.

``WorldConfig(labels_from=DIR)`` takes ids, weak labels and val/test dense GT from the real
annotation files in ``DIR`` instead (``real_skeleton``); only train dense labels and features
are generated.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from avvp_lib.atomic import atomic_save_npy, atomic_write
from avvp_lib.data.annotations import write_dense_labels, write_weak_labels
from avvp_lib.data.features import FEATURE_SHAPES, FRAMES_PER_SEGMENT, feature_path
from avvp_lib.data.splits import DENSE_CSV, TRAIN_DENSE_CSV, WEAK_CSV
from avvp_lib.synthetic.calibration import fitted_feature_model
from avvp_lib.synthetic.clap_space import ClapSpace
from avvp_lib.synthetic.latent import AUDIO_DIM, LATENT_DIM, LatentSpace, unit
from avvp_lib.synthetic.llp_statistics import load_statistics
from avvp_lib.synthetic.real_skeleton import RealSkeleton
from avvp_lib.vocabulary import NUM_CLASSES, NUM_SEGMENTS

WORLD_FILE = "synthetic_world.json"
GENERATOR_VERSION = 2  # bump when a change to this module changes the generated files
SIZES: dict[str, tuple[int, int, int]] = {  # train, val, test videos
    "smoke": (240, 60, 80),
    "default": (400, 200, 400),  # sized so that every row x 3 seeds fits the CPU budget (README)
    "llp-size": (10000, 649, 1200),
}


@dataclass(frozen=True)
class FeatureModel:
    """Documented, seeded parameters of the feature model (module docstring); the defaults are the
    uncalibrated priors, ``calibrated_feature_model()`` the fitted values."""

    clarity_range: tuple[float, float] = (0.5, 1.0)  # per-class visual clarity ~ U(range)
    loudness_range: tuple[float, float] = (0.6, 1.0)  # per-class audio loudness ~ U(range)
    occlusion_min: float = 0.3  # per-segment strength factor ~ U(occlusion_min, 1)
    bg_weight: float = 0.6  # weight of the per-video background in every segment
    scene_mix: float = 0.3  # b_video = unit(scene_mix * background + (1 - scene_mix) * own scene)
    distractor_prob: float = 0.15
    distractor_strength: float = 0.35
    noise_clip_vitb16: float = 0.9  # norm of the isotropic noise of each segment feature
    noise_clip_vitb32: float = 1.0
    noise_clip_frame: float = 0.5  # norm of the extra noise of each CLIP frame (set once, not fitted)
    noise_audio: float = 0.8
    noise_r2plus1d: float = 1.6
    noise_res152_frame: float = 4.0  # per frame; the mean of 8 frames has 1/sqrt(8) of it (1.41)
    clip_gap: float = 0.0  # weight of the direction all prompt embeddings share (cosine scale; text encoder)
    prompt_offset: float = 0.0  # prompts of classes seldom visible in LLP match frames less (text encoder)


def calibrated_feature_model() -> FeatureModel:
    """``FeatureModel`` with the fitted values of ``calibration.json`` (the priors where it has none)."""
    fitted = fitted_feature_model()
    return FeatureModel(**{k: tuple(v) if isinstance(v, list) else v for k, v in fitted.items()})


@dataclass(frozen=True)
class WorldConfig:
    size: str = "default"
    seed: int = 0
    model: FeatureModel = field(default_factory=calibrated_feature_model)
    labels_from: str | None = None  # a folder of real LLP annotation CSVs (real_skeleton.RealSkeleton); None = sampled
    features: bool = True  # False writes the annotation CSVs only (a labels-only world; training needs features)

    @property
    def counts(self) -> dict[str, int]:
        if self.size not in SIZES:
            raise ValueError(f"unknown world size {self.size!r}; expected one of {list(SIZES)}")
        return dict(zip(("train", "val", "test"), SIZES[self.size]))


def _place_runs(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """A binary sequence of 10 with ``n`` ones in ``k`` separate runs (k reduced if it cannot fit)."""
    k = max(1, min(k, n, NUM_SEGMENTS - n + 1))
    lengths = np.diff(np.r_[0, np.sort(rng.choice(np.arange(1, n), k - 1, replace=False)), n]) if k > 1 else np.array([n])
    free = NUM_SEGMENTS - n - (k - 1)  # zeros left after one separator between runs
    cuts = np.sort(rng.integers(0, free + 1, size=k))
    gaps = np.diff(np.r_[0, cuts])  # leading gap, then extra gap before each later run
    seq, t = np.zeros(NUM_SEGMENTS, np.uint8), 0
    for i, (g, length) in enumerate(zip(gaps, lengths)):
        t += g + (1 if i else 0)
        seq[t:t + length] = 1
        t += length
    return seq


class LabelSampler:
    """Samples dense audio and visual labels [10, 25] following ``llp_statistics.json``."""

    def __init__(self, stats: dict):
        sets = stats["label_sets"]["sets"]
        self.sets = [np.array(s, dtype=int) for s, _ in sets]
        counts = np.array([n for _, n in sets], dtype=float)
        self.set_p = counts / counts.sum()
        split = np.array(stats["modality_split"]["counts"], dtype=float)[:, :3] + 1  # add-one smoothing
        self.modality_p = split / split.sum(1, keepdims=True)
        cov = np.array(stats["coverage"]["counts"], dtype=float) + 0.5
        self.coverage_p = cov / cov.sum(-1, keepdims=True)
        runs = np.array(stats["runs"]["counts"], dtype=float)[:, 1:]
        self.runs_p = runs / runs.sum(-1, keepdims=True)
        self.av_identical = float(stats["av_identical_fraction"]["value"])

    def _sequence(self, rng: np.random.Generator, m: int, c: int) -> np.ndarray:
        n = 1 + rng.choice(NUM_SEGMENTS, p=self.coverage_p[m, c])
        k = 1 + rng.choice(self.runs_p.shape[1], p=self.runs_p[m])
        return _place_runs(rng, int(n), int(k))

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A weak-label set drawn from LLP's train sets, then its dense labels (``sample_given``)."""
        return self.sample_given(rng, self.sets[rng.choice(len(self.sets), p=self.set_p)])

    def sample_given(self, rng: np.random.Generator, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dense audio and visual labels whose union over time is exactly the weak-label set ``classes``."""
        audio = np.zeros((NUM_SEGMENTS, NUM_CLASSES), np.uint8)
        visual = np.zeros_like(audio)
        for c in classes:
            kind = rng.choice(3, p=self.modality_p[c])  # 0 av, 1 audio only, 2 visual only
            if kind in (0, 1):
                audio[:, c] = self._sequence(rng, 0, c)
            if kind in (0, 2):
                same = kind == 0 and rng.random() < self.av_identical
                visual[:, c] = audio[:, c] if same else self._sequence(rng, 1, c)
        return audio, visual


class FeatureSampler:
    """Turns dense labels into the five feature kinds of one video (module docstring)."""

    def __init__(self, config: WorldConfig):
        self.m = config.model
        self.space = LatentSpace.from_seed(config.seed)
        self.clap = ClapSpace.from_seed(config.seed)
        rng = np.random.default_rng([config.seed, 2])
        self.clarity = rng.uniform(*self.m.clarity_range, NUM_CLASSES).astype(np.float32)
        self.loudness = rng.uniform(*self.m.loudness_range, NUM_CLASSES).astype(np.float32)
        # norm-preserving random projections (entries ~ N(0, 1/out_dim)): only the noise makes a view weaker
        self.w_r2p1d = (rng.standard_normal((LATENT_DIM, 512)) / np.sqrt(512)).astype(np.float32)
        self.w_res152 = (rng.standard_normal((LATENT_DIM, 2048)) / np.sqrt(2048)).astype(np.float32)

    def _noise(self, rng: np.random.Generator, shape: tuple[int, ...], norm: float) -> np.ndarray:
        return (rng.standard_normal(shape) * (norm / np.sqrt(shape[-1]))).astype(np.float32)

    def _clip_frames(self, rng: np.random.Generator, latent: np.ndarray, segment_noise: float) -> np.ndarray:
        """[10, 512] segment latents -> [80, 512] float16 CLIP-like frames (segment + frame noise)."""
        seg = latent + self._noise(rng, latent.shape, segment_noise)
        frames = np.repeat(seg, FRAMES_PER_SEGMENT, axis=0)
        return (frames + self._noise(rng, frames.shape, self.m.noise_clip_frame)).astype(np.float16)

    def sample(self, rng: np.random.Generator, audio: np.ndarray, visual: np.ndarray,
               kinds: tuple[str, ...] = tuple(FEATURE_SHAPES)) -> dict[str, np.ndarray]:
        """The features of ``kinds``: the latents from ``rng``, each kind's noise from its own child stream."""
        m, s = self.m, self.space
        strength = visual * self.clarity * rng.uniform(m.occlusion_min, 1.0, visual.shape)
        distract = rng.random(NUM_SEGMENTS) < m.distractor_prob
        for t in np.flatnonzero(distract):
            strength[t, rng.integers(NUM_CLASSES)] += m.distractor_strength
        scene = unit(m.scene_mix * s.background + (1 - m.scene_mix) * unit(rng.standard_normal(LATENT_DIM)))
        latent = (strength.astype(np.float32) @ s.prototypes + m.bg_weight * scene).astype(np.float32)  # [10, 512]
        a_strength = audio * self.loudness * rng.uniform(m.occlusion_min, 1.0, audio.shape)
        a_scene = unit(rng.standard_normal(AUDIO_DIM)) * m.bg_weight
        a_latent = (a_strength.astype(np.float32) @ s.audio_prototypes + a_scene).astype(np.float32)
        streams = dict(zip(FEATURE_SHAPES, rng.integers(2**63, size=len(FEATURE_SHAPES))))
        make = {
            "clip_vitb16": lambda r: self._clip_frames(r, latent, m.noise_clip_vitb16),
            "clip_vitb32": lambda r: self._clip_frames(r, latent, m.noise_clip_vitb32),
            "vggish": lambda r: (a_latent + self._noise(r, (NUM_SEGMENTS, AUDIO_DIM), m.noise_audio)).astype(np.float32),
            "r2plus1d_18": lambda r: latent @ self.w_r2p1d + self._noise(r, (NUM_SEGMENTS, 512), m.noise_r2plus1d),
            "res152": lambda r: (np.repeat(latent @ self.w_res152, FRAMES_PER_SEGMENT, axis=0)
                                 + self._noise(r, (80, 2048), m.noise_res152_frame)),
            "clap_audioset": lambda r: self.clap.features(r, a_latent, m.noise_audio),
        }
        return {k: make[k](np.random.default_rng(streams[k])) for k in kinds}


def video_rng(config: WorldConfig, split: str, i: int) -> np.random.Generator:
    """The RNG stream of video ``i`` of ``split``: its dense labels, then its features."""
    return np.random.default_rng([config.seed, 10 + list(config.counts).index(split), i])


class WorldMismatchError(ValueError):
    """A folder holds another world (size, seed, generator version) or other files than the one asked for."""


def world_record(config: WorldConfig) -> dict:
    """The manifest of a world: what it was generated from (compared as stored JSON)."""
    return json.loads(json.dumps({"synthetic": True, "note": "SYNTHETIC world generated by avvp_lib - not LLP data",
                                  "generator": GENERATOR_VERSION, "config": asdict(config), "counts": config.counts}))


def _describe(record: dict) -> str:
    c = record.get("config", {})
    return f"(size {c.get('size')!r}, seed {c.get('seed')}, generator {record.get('generator', 1)})"


def check_world_folder(out: Path, record: dict) -> bool:
    """True when ``out`` already holds the finished world ``record``; False when it may be (re)built into.

    A folder belongs to one (size, seed, generator version, feature model): any other world, or
    files without a manifest, is a ``WorldMismatchError`` (nothing of it is reused or overwritten).
    """
    manifest = out / WORLD_FILE
    if manifest.is_file():
        found = json.loads(manifest.read_text())
        complete = found.pop("complete", True)
        found.setdefault("generator", 1)  # manifests written before the version was recorded
        if found != record:
            model_only = _describe(found) == _describe(record)
            what = (f"the synthetic world {_describe(found)} with another feature model (e.g. before "
                    "synthetic/calibration.json changed)" if model_only else
                    f"the synthetic world {_describe(found)}, not {_describe(record)}")
            raise WorldMismatchError(
                f"{out} holds {what}; "
                f"build into another folder (e.g. {out.parent / (out.name + '_seed' + str(record['config']['seed']))}) "
                "or delete this one")
        return complete
    if out.is_dir() and any(out.iterdir()):
        raise WorldMismatchError(f"{out} is not empty and holds no synthetic world manifest ({WORLD_FILE}); "
                                 "build the world into an empty or new folder")
    return False


def build_world(out_dir: str | Path, config: WorldConfig = WorldConfig(), progress: bool = True) -> Path:
    """Write the world to ``out_dir``: LLP CSVs, dense GT (train GT in separate files), ``feats/``.

    Deterministic per seed (each video has its own RNG stream), resumable: the manifest marks
    the folder for this world first (``complete: false``); videos whose five feature files exist
    are not regenerated; the manifest says ``complete`` last. ``check_world_folder`` refuses a
    folder that holds anything else.
    """
    out = Path(out_dir)
    manifest = out / WORLD_FILE
    record = world_record(config)
    if check_world_folder(out, record):
        return out
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(manifest, json.dumps({**record, "complete": False}, indent=2) + "\n")
    for kind in FEATURE_SHAPES if config.features else ():
        (out / "feats" / kind).mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    labels_sampler = LabelSampler(load_statistics())
    skeleton = RealSkeleton(config.labels_from, config.counts, labels_sampler) if config.labels_from else None
    features_sampler = FeatureSampler(config)
    letter = {"train": "t", "val": "v", "test": "e"}
    for split, n in config.counts.items():
        ids = [f"s{letter[split]}{i:09d}" for i in range(n)]
        filenames = [f"{v}_0_10" for v in ids]
        if skeleton:
            ids, filenames = skeleton.splits[split].video_ids, skeleton.splits[split].filenames
        dense_a = np.zeros((n, NUM_SEGMENTS, NUM_CLASSES), np.uint8)
        dense_v = np.zeros_like(dense_a)
        for i in tqdm(range(n), desc=f"synthetic {config.size} {split}", disable=not progress):
            rng = video_rng(config, split, i)
            dense_a[i], dense_v[i] = skeleton.dense(split, i, rng) if skeleton else labels_sampler.sample(rng)
            paths = {k: feature_path(out, k, ids[i]) for k in FEATURE_SHAPES}
            if not config.features or all(p.is_file() for p in paths.values()):
                continue
            for kind, arr in features_sampler.sample(rng, dense_a[i], dense_v[i]).items():
                atomic_save_npy(paths[kind], arr)
        weak = skeleton.splits[split].weak if skeleton else (dense_a | dense_v).max(axis=1)
        write_weak_labels(out / WEAK_CSV[split], filenames, weak)
        if split == "train":
            write_dense_labels(out / TRAIN_DENSE_CSV["audio"], filenames, dense_a)
            write_dense_labels(out / TRAIN_DENSE_CSV["visual"], filenames, dense_v)
        else:
            _append_dense(out, split, filenames, dense_a, dense_v)
    atomic_write(manifest, json.dumps({**record, "complete": True}, indent=2) + "\n")
    return out


def _append_dense(out: Path, split: str, filenames: list[str], dense_a: np.ndarray, dense_v: np.ndarray) -> None:
    """LLP keeps val and test dense labels in one pair of files: val writes them, test appends."""
    for modality, dense in (("audio", dense_a), ("visual", dense_v)):
        path = out / DENSE_CSV[modality]
        part = out / f".{split}_{modality}.csv"
        write_dense_labels(part, filenames, dense)
        lines = part.read_text().splitlines(keepends=True)
        if split == "val":
            path.write_text("".join(lines))
        else:
            with path.open("a") as f:
                f.writelines(lines[1:])
        part.unlink()


def is_synthetic(data_dir: str | Path) -> bool:
    """True when ``data_dir`` holds a world made by this module."""
    return (Path(data_dir) / WORLD_FILE).is_file()
