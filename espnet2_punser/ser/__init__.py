"""PUNSER model parts: XEUS upstream, heads, masked multi-task loss, trainer."""
