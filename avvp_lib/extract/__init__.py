"""Features from raw video: decoding (PyAV), CLIP segment features, VGGish audio embeddings."""
