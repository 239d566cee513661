"""What every notebook's first cell calls: check the papermill parameters, get the data ready."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avvp_lib.experiments import Profile, get_profile
from avvp_lib.paths import OUTPUTS_DIR, resolve
from avvp_lib.synthetic.world import WorldConfig, build_world, is_synthetic
from avvp_lib.devices import pick_device

KNOWN_PARAMETERS = {"profile", "data_dir", "device", "seed", "missing"}


@dataclass
class Session:
    profile: Profile
    device: str

    @property
    def data_dir(self) -> Path:
        return resolve(self.profile.data_dir)

    @property
    def synthetic(self) -> bool:
        return self.profile.synthetic

    def figure(self, name: str) -> Path:
        return OUTPUTS_DIR / "figures" / self.profile.name / name


def setup(profile: str = "smoke", data_dir: str | None = None, device: str | None = None, seed: int = 0,
          missing: str | None = None, **unknown: object) -> Session:
    """Validate the parameters (papermill only warns on unknown ones), build a missing synthetic world.

    ``missing``: "error" or "skip" for videos without feature files (None: the profile's rule).
    A synthetic world of ``seed`` != 0 lives in ``<profile folder>_seed<seed>`` unless ``data_dir`` names one.
    """
    if unknown:
        raise TypeError(f"unknown notebook parameter(s) {sorted(unknown)}; known: {sorted(KNOWN_PARAMETERS)}")
    prof = get_profile(profile, data_dir, missing)
    if prof.synthetic and seed and not data_dir:  # one folder per world: seed 0 keeps the profile's folder
        prof = get_profile(profile, f"{prof.data_dir}_seed{seed}", missing)
    root = resolve(prof.data_dir)
    if prof.synthetic:
        build_world(root, WorldConfig(size=prof.world_size, seed=seed))
        print(f"profile {prof.name!r}: SYNTHETIC LLP-like world ({prof.world_size}, seed {seed}) at {prof.data_dir} "
              "- results are not comparable to the papers")
    elif not (root / "feats").is_dir():
        raise FileNotFoundError(f"profile {prof.name!r} expects LLP features under {root}/feats (see README, 'Real LLP')")
    elif is_synthetic(root):
        raise ValueError(f"{root} holds a synthetic world but profile {prof.name!r} expects real LLP features")
    dev = str(pick_device(device))
    print(f"device: {dev}")
    return Session(prof, dev)
