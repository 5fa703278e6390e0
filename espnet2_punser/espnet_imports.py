"""Keep ESPnet's import-time side effects out of PUNSER's processes."""

import importlib
import importlib.machinery
import sys
import types


class _DeferredModule(types.ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is used."""

    def __init__(self, name: str, spec):
        super().__init__(name)
        self.__spec__ = spec
        self.__file__ = spec.origin
        if spec.submodule_search_locations is not None:
            self.__path__ = list(spec.submodule_search_locations)

    def __getattr__(self, attr):
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def _defer_import(name: str) -> None:
    """Defer executing ``name`` (and its parent packages) until it is really used.

    NOTE: importing ``espnet2.train.collate_fn`` (needed by every task) imports
    ``espnet2.train.preprocessor`` -> tokenizers -> ``g2p_en`` and
    ``tacotron_cleaner.cleaners``. At import time these load ``inflect`` (~4 s) and
    call ``nltk.download`` (a network stall on offline cluster nodes). PUNSER uses no
    text tokenizer, so each of its many short processes skips that cost; any code that
    does use them gets the real modules on first attribute access.
    """
    parent = None
    path = None
    for i, part in enumerate(name.split(".")):
        full = name.rsplit(".", name.count(".") - i)[0] if i < name.count(".") else name
        if full in sys.modules:
            return
        spec = importlib.machinery.PathFinder.find_spec(full, path)
        if spec is None:
            return
        module = _DeferredModule(full, spec)
        sys.modules[full] = module
        if parent is not None:
            parent.__dict__[part] = module
        parent, path = module, spec.submodule_search_locations


def defer_slow_espnet_imports() -> None:
    """Call before importing ``espnet2`` task/trainer modules (idempotent)."""
    # torch first: importing it walks sys.modules (inspect.getmodule), which would
    # trigger the deferred imports at once.
    import torch  # noqa: F401

    for name in ("g2p_en", "tacotron_cleaner.cleaners"):
        _defer_import(name)
