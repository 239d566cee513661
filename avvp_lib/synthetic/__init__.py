"""The embedded synthetic LLP-like world (written in LLP's exact on-disk format)."""
