"""The 25 LLP event classes and every way the papers turn them into words.

One place for class order, natural names (VPLAN PLG prompts) and the LSLD class
descriptions (LSLD appendix Table 6 variants, kept as data).
"""
from __future__ import annotations

from dataclasses import dataclass

CLASSES: tuple[str, ...] = (
    "Speech", "Car", "Cheering", "Dog", "Cat", "Frying_(food)", "Basketball_bounce",
    "Fire_alarm", "Chainsaw", "Cello", "Banjo", "Singing", "Chicken_rooster",
    "Violin_fiddle", "Vacuum_cleaner", "Baby_laughter", "Accordion", "Lawn_mower",
    "Motorcycle", "Helicopter", "Acoustic_guitar", "Telephone_bell_ringing",
    "Baby_cry_infant_cry", "Blender", "Clapping",
)
NUM_CLASSES = len(CLASSES)
NUM_SEGMENTS = 10
CLASS_INDEX: dict[str, int] = {c: i for i, c in enumerate(CLASSES)}

# Natural words for a class name inside a CLIP prompt ("Frying_(food)" -> "frying food").
NATURAL_NAMES: dict[str, str] = {
    "Speech": "speech", "Car": "car", "Cheering": "cheering", "Dog": "dog", "Cat": "cat",
    "Frying_(food)": "frying food", "Basketball_bounce": "basketball bounce",
    "Fire_alarm": "fire alarm", "Chainsaw": "chainsaw", "Cello": "cello", "Banjo": "banjo",
    "Singing": "singing", "Chicken_rooster": "chicken rooster", "Violin_fiddle": "violin fiddle",
    "Vacuum_cleaner": "vacuum cleaner", "Baby_laughter": "baby laughter", "Accordion": "accordion",
    "Lawn_mower": "lawn mower", "Motorcycle": "motorcycle", "Helicopter": "helicopter",
    "Acoustic_guitar": "acoustic guitar", "Telephone_bell_ringing": "telephone bell ringing",
    "Baby_cry_infant_cry": "baby cry infant cry", "Blender": "blender", "Clapping": "clapping",
}

# VPLAN Sec. V-B prompts P1-P4; "[CLS]" is replaced by the natural class name.
VPLAN_PROMPTS: dict[str, str] = {
    "P1": "This photo contains the [CLS]",
    "P2": "This photo contains the scene of [CLS]",
    "P3": "This photo contains the visual scene of [CLS]",
    "P4": "This is a photo of the [CLS]",
}

INSTRUMENTS = ("Cello", "Banjo", "Violin_fiddle", "Accordion", "Acoustic_guitar")
HUMAN_ACTIVITIES = ("Speech", "Cheering", "Singing", "Clapping", "Basketball_bounce")


@dataclass(frozen=True)
class Descriptions:
    """How LSLD names classes inside a subset prompt ("A and B"), Table 6.

    ``names``: one description per class. ``prefix`` is added once at the start of a prompt
    ("a photo of A and B", not "a photo of A and a photo of B"); with ``prefix_classes`` only
    prompts naming one of those classes get it ("a person speaking and playing the guitar").
    """

    names: dict[str, str]
    prefix: str = ""
    prefix_classes: tuple[str, ...] | None = None

    def prompt(self, classes: tuple[int, ...]) -> str:
        """The prompt for a subset of class indices."""
        text = " and ".join(self.names[CLASSES[c]] for c in classes)
        wants = self.prefix_classes is None or any(CLASSES[c] in self.prefix_classes for c in classes)
        return f"{self.prefix} {text}" if self.prefix and wants else text


_ORIGINAL = {c: NATURAL_NAMES[c] for c in CLASSES}
_PLAYING = {  # paper, Appendix: "playing" before instruments, "playing basketball"
    **_ORIGINAL,
    "Basketball_bounce": "playing basketball",
    **{c: f"playing the {NATURAL_NAMES[c].split()[0]}" for c in INSTRUMENTS},
    "Acoustic_guitar": "playing the guitar",
}
# The strings of fyyCS/LSLD main.py (refineLabel) for visual denoising.
_OFFICIAL = dict(zip(CLASSES, (
    "Speeching", "Car", "Cheering", "Dog", "Cat", "Frying food", "playing basketball", "Fire alarm ringing",
    "Chainsaw", "playing the Cello", "playing the Banjo", "Singing", "Chicken", "playing the Violin",
    "Vacuum cleaner", "Baby laughter", "playing the Accordion", "Lawn-mower", "Motorcycle", "Helicopter",
    "playing the guitar", "Telephone bell ringing", "Baby cry", "Blender", "Clapping")))

# LSLD Table 6 rows (and the official code's strings) as data.
LSLD_DESCRIPTIONS: dict[str, Descriptions] = {
    "original": Descriptions(_ORIGINAL),  # "Original Class Desc"
    "playing": Descriptions(_PLAYING),  # "Desc + playing" (paper default)
    "photo_of": Descriptions(_PLAYING, prefix="a photo of"),  # "Desc + a photo of"
    # "Desc + playing + a person", the paper's example: "a person speaking and playing the guitar"
    "playing_person": Descriptions({**_PLAYING, "Speech": "speaking"}, prefix="a person",
                                   prefix_classes=INSTRUMENTS + HUMAN_ACTIVITIES),
    "official": Descriptions(_OFFICIAL),  # fyyCS/LSLD main.py
}

# LSLD Table 3: the prompt that says "no listed event here".
NO_EVENT_PROMPTS: tuple[str, ...] = ("other", "none", "not")


def class_vector(labels: list[str] | tuple[str, ...]) -> list[int]:
    """Multi-hot list of length 25 for class names; unknown names raise ``KeyError`` naming them."""
    unknown = [name for name in labels if name not in CLASS_INDEX]
    if unknown:
        raise KeyError(f"unknown LLP class name(s) {unknown}; expected one of {list(CLASSES)}")
    vec = [0] * NUM_CLASSES
    for name in labels:
        vec[CLASS_INDEX[name]] = 1
    return vec
