"""Builders of fake corpora: the real directory layout, file names and label files of
each corpus (corpora.md), with short generated audio (or empty files for size
benchmarks). One module per corpus, each with ``build(root, rng, full=False,
empty_audio=False) -> dict`` returning what the test expects the parser to produce."""
