"""avvp-repro: weakly-supervised audio-visual video parsing (VPLAN, LSLD) on LLP, end to end.

Modules: ``data`` (LLP format), ``synthetic`` (the embedded world), ``metrics`` (official LLP
evaluation), ``models`` (HAN), ``supervision`` + ``methods`` (pseudo labels and losses),
``train`` (trainer), ``experiments`` (tables as configs), ``reproduce`` (tables beside the
papers' numbers), ``figures``, ``extract`` (features from raw video).
"""
__version__ = "0.1.0"
