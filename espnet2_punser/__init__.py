"""PUNSER for ESPnet2: XEUS + masked multi-task learning for speech emotion recognition.

The package root stays light (no torch/espnet import), so that data tools start fast;
subpackages that import ESPnet call ``espnet_imports.defer_slow_espnet_imports`` first.
"""

from espnet2_punser.version import __version__  # noqa: F401
