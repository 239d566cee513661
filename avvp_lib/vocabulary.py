"""The 25 LLP event classes and every way the papers turn them into words.

One place for class order, natural names (VPLAN PLG prompts) and the LSLD class
descriptions (LSLD appendix Table 6 variants, kept as data).
"""
from __future__ import annotations

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

_ORIGINAL = {c: NATURAL_NAMES[c] for c in CLASSES}
_PLAYING = {
    **_ORIGINAL,
    "Basketball_bounce": "playing basketball",
    **{c: f"playing the {NATURAL_NAMES[c].split()[0]}" for c in INSTRUMENTS},
}
_PLAYING["Acoustic_guitar"] = "playing the guitar"

# LSLD appendix Table 6: class-description variants used inside the subset prompts.
LSLD_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "original": _ORIGINAL,
    "playing": _PLAYING,  # paper default
    "photo_of": {c: f"a photo of {d}" for c, d in _PLAYING.items()},
    "playing_person": {
        c: (f"a person {d}" if c in INSTRUMENTS + HUMAN_ACTIVITIES else d) for c, d in _PLAYING.items()
    },
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
