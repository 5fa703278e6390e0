"""PUNSER model parts: XEUS upstream, heads, masked multi-task loss, trainer."""

from espnet2_punser.espnet_imports import defer_slow_espnet_imports

defer_slow_espnet_imports()
