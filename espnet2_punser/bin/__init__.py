"""Command-line entry points (``python -m espnet2_punser.bin.<name> --help``)."""

import argparse


def doc_parser(doc: str, **kwargs) -> argparse.ArgumentParser:
    """A parser whose description is the first paragraph of a module docstring ``doc``
    and whose epilog (shown by ``--help``, layout kept) is the rest: usage and notes."""
    head, _, rest = doc.partition("\n\n")
    return argparse.ArgumentParser(description=head, epilog=rest or None,
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   **kwargs)
