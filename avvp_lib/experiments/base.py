"""What every paper's tables are made of: profiles, schedules, and the ``Row`` / ``Table`` types."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from avvp_lib.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from avvp_lib.schedules import SCHEDULES

PAPER_NUMBERS = Path(__file__).parent.parent / "tables" / "paper_numbers.yaml"
TABLE_KINDS = ("runs", "plg_quality", "pld_quality", "train_label_quality", "cited")


@lru_cache(maxsize=1)
def paper_numbers() -> dict:
    """The papers' numbers by table key and row label (``tables/paper_numbers.yaml``)."""
    return yaml.safe_load(PAPER_NUMBERS.read_text())


@dataclass(frozen=True)
class Profile:
    """Where the data is and how long to train.

    A run's schedule (``SCHEDULES[paper]``) stops after ``stop_at[paper]`` epochs when given,
    else after ``epochs``; ``None`` for both keeps the paper's whole schedule.
    """

    name: str
    data_dir: str
    world_size: str | None  # synthetic world to build; None = real LLP features
    epochs: int | None = None
    grid_epochs: int | None = None  # LSLD Table 4(a)'s 16-run grid
    stop_at: tuple[tuple[str, int], ...] = ()  # (SCHEDULES key, epochs), before ``epochs``
    seeds: tuple[int, ...] = (1,)
    annotations_dir: str | None = None
    missing: str = "error"  # videos without a feature file: "error" or "skip"
    eval_audio: str | None = None  # audio eval CSV instead of the corrected one (legacy 2020)
    backbones: tuple[str, ...] | None = None  # models whose rows train (None: all; CI skips some)
    tables: tuple[str, ...] | None = None  # keys of the tables it computes (None: every table)
    runs_of: str | None = None  # share another profile's run folders (same world; a run is its config)

    @property
    def synthetic(self) -> bool:
        return self.world_size is not None

    def epochs_for(self, paper: str, grid: bool = False) -> int | None:
        """Where ``paper``'s schedule stops in this profile (None: the paper's last epoch)."""
        return (self.grid_epochs if grid else None) or dict(self.stop_at).get(paper) or self.epochs

    def skips(self, run: RunConfig) -> str:
        """'' when this profile trains ``run``, else the reason shown in its row."""
        if self.backbones is None or run.model.name in self.backbones:
            return ""
        return f"{run.model.name} rows are not trained in the {self.name} profile"


# Each schedule's stop in the default profile: its plateau on the default world, the first epoch
# within 1 point of the best validation Type@AV over the paper's whole schedule (seed 1;
# scripts/plateau_check.py prints both and checks stop >= plateau). LSLD's stop moved from 6 to 8
# when its plateau did on the world of the previous calibration; the calibration (whose HAN + Clip
# target trains at this schedule) was then refitted. The other backbones' code schedules (their rows
# train in full-cpu / full only): MGN plateaus at 13 of 40, MM-Pyramid at 10 of 40, DHHN at 9 of its
# 10 (kept whole).
DEFAULT_PLATEAU = (("vplan", 10), ("lsld", 8), ("ma", 8), ("jomold", 16), ("lsld_official", 11),
                   ("mgn", 13), ("mm_pyramid", 10), ("dhhn", 10))
HEADLINE = ("vplan_t1", "vplan_t2", "vplan_t3", "lsld_t2", "lsld_t4a", "train_label_quality")
PROFILES: dict[str, Profile] = {
    # CI: only HAN rows train (an MGN / DHHN / MM-Pyramid smoke run takes ~18 / 19 / 53 s on a CPU)
    "smoke": Profile("smoke", "data/synthetic_smoke", "smoke", epochs=2, grid_epochs=1,
                     backbones=("han",)),
    # every table, 3 seeds, HAN-backbone rows, each schedule stopped at its plateau (an MGN / DHHN /
    # MM-Pyramid run costs 2.7 / 3.6 / 8.2 HAN runs on a 2-core CPU: benchmarks/backbone_cost.py)
    "default": Profile("default", "data/synthetic_default", "default", stop_at=DEFAULT_PLATEAU,
                       seeds=(1, 2, 3), backbones=("han",)),
    # default plus the rows of the other backbones (VPLAN IV-V, LSLD 1 and 5): for a GPU
    "full": Profile("full", "data/synthetic_default", "default", stop_at=DEFAULT_PLATEAU,
                    seeds=(1, 2, 3), runs_of="default"),
    # full without MM-Pyramid (7.4 HAN runs per run on a CPU, benchmarks/backbone_cost.py)
    "full-cpu": Profile("full-cpu", "data/synthetic_default", "default", stop_at=DEFAULT_PLATEAU,
                        seeds=(1, 2, 3), backbones=("han", "mgn", "dhhn"), runs_of="default"),
    # the headline tables on the default world in <= 10 min on a CPU: 6 epochs (before the plateau
    # of VPLAN's schedule), the grid 3; its own runs, not default's
    "quick": Profile("quick", "data/synthetic_default", "default", epochs=6, grid_epochs=3,
                     seeds=(1, 2, 3), tables=HEADLINE, runs_of="default"),
    "llp": Profile("llp", "data/llp", None, missing="skip"),
    # the real-LLP path end to end in minutes, before committing to the papers' schedules
    "llp-short": Profile("llp-short", "data/llp", None, epochs=2, grid_epochs=1, missing="skip"),
}


def get_profile(name: str, data_dir: str | None = None, missing: str | None = None,
                eval_audio: str | None = None) -> Profile:
    """A profile, its data folder, missing-video rule or audio eval file replaced when given."""
    if name not in PROFILES:
        raise KeyError(f"unknown profile {name!r}; expected one of {sorted(PROFILES)}")
    given = dict(data_dir=data_dir, missing=missing, eval_audio=eval_audio)
    changes = {k: v for k, v in given.items() if v}
    return dataclasses.replace(PROFILES[name], **changes)


def schedule(paper: str, profile: Profile, grid: bool = False) -> TrainConfig:
    """The paper's schedule stopped where the profile says (``Profile.epochs_for``): its first epochs.

    StepLR keeps the paper's step (in epochs), so a run shorter than it never decays. This bundle's
    choice: compressing the decays into a short run (step scaled with the epochs) left 2 of 6 epochs
    at the full learning rate and HAN far from trained (6 epochs on a first, nearly noiseless
    calibration of the default world: test seg A 22.8 compressed, 57.2 stopped).
    """
    base = SCHEDULES[paper]
    epochs = profile.epochs_for(paper, grid)
    return base if epochs is None else dataclasses.replace(base, epochs=epochs)


RESNET = ("res152", "r2plus1d_18")  # the original visual features (2D ResNet-152 + 3D R(2+1)D-18)
CLIP = ("clip_vitb16",)  # LSLD's training features


def data(profile: Profile, visual: tuple[str, ...]) -> DataConfig:
    return DataConfig(data_dir=profile.data_dir, annotations_dir=profile.annotations_dir,
                      visual=visual, missing=profile.missing, eval_audio=profile.eval_audio)


def backbone(name: str) -> ModelConfig:
    """A registered backbone (``models.MODELS``) at its own defaults."""
    return ModelConfig(name=name)


@dataclass(frozen=True)
class Row:
    """One line of a table.

    ``run``: for a "runs" table the run trained and scored on test; for a label-quality table the
    run whose segment labels (``methods.segment_labels``) are scored (only its prerequisites train).
    ``coords``: typed coordinates of the row in the paper's layout, e.g.
    ``{"alpha": 3.0, "beta": 0.2}``. ``paper=False``: a row in neither paper (this bundle's), so
    without paper numbers.
    """

    label: str  # the paper's row label (a key of paper_numbers.yaml) unless paper=False
    run: RunConfig | None = None
    coords: dict[str, float] = field(default_factory=dict, hash=False)
    note: str = ""
    paper: bool = True


@dataclass(frozen=True)
class Table:
    key: str  # key in paper_numbers.yaml and the output file name
    title: str  # "VPLAN Table III: ..." as printed
    kind: str  # TABLE_KINDS; reproduce.SCORERS computes each kind
    rows: tuple[Row, ...]
    columns: tuple[str, ...] = ()  # empty = the ten LLP metrics
    caption: str = ""
    grid: tuple[str, str] | None = None  # (down, across) coordinates of a grid layout (Table 4(a))

    def __post_init__(self) -> None:
        if self.kind not in TABLE_KINDS:
            raise ValueError(f"table {self.key}: kind must be one of {TABLE_KINDS}, "
                             f"got {self.kind!r}")
        if self.grid and any(set(self.grid) - set(r.coords) for r in self.rows):
            raise ValueError(f"table {self.key}: every row of a grid needs coordinates {self.grid}")


NOT_HERE = "not implemented in this bundle (cited from the paper)"


def cited(*labels: str) -> tuple[Row, ...]:
    """Rows whose numbers are only the paper's."""
    return tuple(Row(label, note=NOT_HERE) for label in labels)


def shortened(p: Profile, papers: tuple[str, ...] = ("vplan", "lsld")) -> str:
    """Caption text: where the profile stops ``papers``' schedules ('' when it keeps them whole)."""
    stops = [(q, p.epochs_for(q)) for q in papers if p.epochs_for(q)]
    if not stops:
        return ""
    names = {"vplan": "VPLAN", "lsld": "LSLD", "ma": "MA", "jomold": "JoMoLD",
             "lsld_official": "LSLD's code", "mgn": "MGN's code", "mm_pyramid": "MM-Pyramid's code",
             "dhhn": "DHHN's code"}
    how = "near their validation plateau (scripts/plateau_check.py)" if p.stop_at else "early"
    parts = ", ".join(f"{names.get(q, q)} after {e} of {SCHEDULES[q].epochs}"
                      for q, e in stops)
    return f"{p.name} profile: the papers' schedules stopped {how}: {parts} epochs."


def run(p: Profile, name: str, paper: str, supervision: object, visual: tuple[str, ...],
        model: str = "han", grid: bool = False) -> RunConfig:
    """A run of profile ``p``: backbone ``model`` with ``paper``'s schedule (``SCHEDULES``) on HAN.

    A row on another backbone trains with that backbone's own code schedule (``SCHEDULES[model]``)
    whatever its targets, so its rows differ from its vanilla row only in the targets. VPLAN Table V
    says its backbone rows were reproduced "using the official source code"; which schedule trains a
    method's labels on another backbone neither paper says (this bundle's reading).
    """
    key = paper if model == "han" else model
    return RunConfig(name=name, data=data(p, visual), model=backbone(model),
                     train=schedule(key, p, grid), supervision=supervision)
