"""Packing PUNSER models for ``espnet_model_zoo`` / Hugging Face, and unpacking them.

A pack is an ``espnet2.main_funcs.pack_funcs`` archive (zip) whose ``meta.yaml`` names

    yaml_files: {train_config: exp/<model>/config.yaml}
    files:      {model_file:   exp/<model>/model.pth}

(the argument names of ``Speech2Emotion.__init__``), plus, under their recipe-relative
paths: the XEUS architecture config that the train config names
(``frontend_conf.xeus_config: conf/xeus/<name>.yaml``), the label inventories
(``conf/labels/<corpus>.yaml``), ``RESULTS.md`` with the figures it shows, and the
experiment's ``provenance/`` folder. No XEUS checkpoint: the model file holds the
encoder weights, and the encoder is built from the architecture config.

NOTE: paths inside the train config stay RELATIVE to the recipe directory (and the
pack is made from there): ``pack_funcs.unpack`` (and ``ModelDownloader`` for a Hugging
Face snapshot) rewrites a string in a packed YAML file that equals an archive member's
path into the member's extracted absolute path; an absolute path would be left as is
and break on another machine.

Fine-tuned models of the recipe are trained on cached pooled XEUS layers
(``frontend: none``) and hold no encoder. :func:`assemble_full_model` joins the
encoder of the pre-trained model and the weighted sum, projection and heads of such a
model into one full model that takes audio.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
import yaml

from espnet2_punser.inference import load_state_dict_safely

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
REQUIRED_KEYS = ("train_config", "model_file")  # Speech2Emotion.__init__ arguments
DEFAULT_CACHEDIR = Path("~/.cache/espnet2_punser")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz")
# model_conf entries that only describe the cached input; the full model derives them
CACHED_INPUT_KEYS = ("num_layers", "feat_dim")


class PackError(ValueError):
    """A model that cannot be packed as asked (the message says why and what to do)."""


class PackFormatError(RuntimeError):
    """An archive or folder that is not a PUNSER pack (e.g. meta.yaml keys missing)."""


class ModelNotFoundError(FileNotFoundError):
    """A model tag that is neither a local pack nor a downloadable model."""


def _load_yaml(path: PathLike) -> dict:
    with open(path, encoding="utf-8") as f:
        d = yaml.safe_load(f)
    if not isinstance(d, dict):
        raise PackError(f"{path}: expected a YAML mapping (an ESPnet config.yaml)")
    return d


def find_provenance(start: PathLike) -> Optional[Path]:
    """The nearest ``provenance/`` folder of an experiment: next to ``start`` (a file
    or folder) or in a folder above it, up to the current directory."""
    start = Path(start).resolve()
    here = start if start.is_dir() else start.parent
    stop = Path.cwd().resolve()
    for d in [here, *here.parents]:
        if (d / "provenance").is_dir():
            return d / "provenance"
        if d == stop:
            break
    return None


# -------------------------------------------------------------------------- assemble
def assemble_full_model(encoder_config: PathLike, encoder_model_file: PathLike,
                        head_config: PathLike, head_model_file: PathLike,
                        out_dir: PathLike) -> Tuple[Path, Path]:
    """Join an encoder and cached-feature heads into one full model.

    Args:
        encoder_config, encoder_model_file: a full PUNSER model with an XEUS frontend
            (the pre-trained model: ``exp/pretrain_<tag>/{config.yaml,
            valid.loss.best.pth}``); only its ``frontend.*`` weights are used.
        head_config, head_model_file: a model trained on this encoder's cached pooled
            layers (``frontend: none``, e.g. a fine-tuned fold); its weighted layer
            sum, projection, heads and ``model_conf`` (``class_subset``, ...) are used.
        out_dir: receives ``config.yaml`` (the encoder's config with the head's
            ``model_conf``), ``model.pth`` (a plain state dict), ``assembled_from.yaml``
            and a copy of the head's (else the encoder's) ``provenance/``.

    The result predicts exactly what the head model predicts on the encoder's cached
    features (the pooled layers are the same computation). Returns
    ``(config.yaml, model.pth)``.
    """
    from espnet2_punser.inference import build_model

    out_dir = Path(out_dir)
    enc_cfg = _load_yaml(encoder_config)
    head_cfg = _load_yaml(head_config)
    if enc_cfg.get("frontend") is None:
        raise PackError(f"{encoder_config} has no encoder (frontend: none); give the "
                        "config of the pre-trained model, which has an XEUS frontend")
    enc_state = load_state_dict_safely(encoder_model_file)
    head_state = load_state_dict_safely(head_model_file)
    if not any(k.startswith("frontend.") for k in enc_state):
        raise PackError(f"{encoder_model_file} holds no encoder weights (frontend.*)")

    model_conf = dict(head_cfg.get("model_conf") or {})
    cached = {k: model_conf.pop(k) for k in CACHED_INPUT_KEYS if k in model_conf}
    cfg = dict(enc_cfg)
    cfg["model"] = head_cfg.get("model", enc_cfg.get("model", "punser"))
    cfg["model_conf"] = model_conf
    cfg["xeus_checkpoint"] = None

    state = {k: v for k, v in enc_state.items() if k.startswith("frontend.")}
    state.update({k: v for k, v in head_state.items() if not k.startswith("frontend.")})

    out_dir.mkdir(parents=True, exist_ok=True)
    config_path, model_path = out_dir / "config.yaml", out_dir / "model.pth"
    tmp_config = out_dir / "config.yaml.tmp"
    with open(tmp_config, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    try:
        # strict load: every head and encoder tensor must fit the assembled config
        model, _ = build_model(tmp_config, None)
        if cached and (cached.get("num_layers", model.num_layers) != model.num_layers
                       or cached.get("feat_dim", model.feat_dim) != model.feat_dim):
            raise PackError(
                f"{head_config} was trained on cached features of shape "
                f"({cached.get('num_layers')}, {cached.get('feat_dim')}), but the encoder "
                f"of {encoder_config} gives ({model.num_layers}, {model.feat_dim}): "
                "the head belongs to another encoder")
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise PackError(
                f"cannot assemble {head_model_file} onto {encoder_model_file}: missing "
                f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}")
    except Exception:
        tmp_config.unlink()
        raise
    torch.save(model.state_dict(), model_path)
    tmp_config.replace(config_path)

    provenance = find_provenance(head_config) or find_provenance(encoder_config)
    if provenance is not None and provenance.resolve() != (out_dir / "provenance").resolve():
        shutil.copytree(provenance, out_dir / "provenance", dirs_exist_ok=True)
    sources = {
        "encoder_config": str(encoder_config), "encoder_model_file": str(encoder_model_file),
        "head_config": str(head_config), "head_model_file": str(head_model_file),
        "encoder_sha1": _sha1(encoder_model_file), "head_sha1": _sha1(head_model_file),
        "class_subset": model_conf.get("class_subset"),
    }
    (out_dir / "assembled_from.yaml").write_text(yaml.safe_dump(sources, sort_keys=False))
    logger.info(f"assembled {config_path} and {model_path} ({len(state)} tensors)")
    return config_path, model_path


def _sha1(path: PathLike) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------ pack
def _inside_cwd(path: PathLike) -> str:
    """``path`` relative to the current directory, as pack_funcs will name it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        raise PackError(
            f"{path} is outside the current directory {Path.cwd()}: run the pack from the "
            "recipe directory, with every packed file below it") from None


def _stage_below_cwd(path: Path, outpath: Path) -> Path:
    """``path`` if it lies below the current directory, else a copy next to ``outpath``.

    NOTE: the recipe's ``conf/labels`` is a symlink into the package, which resolves
    outside the recipe directory; pack_funcs stores files under their resolved path
    relative to the current directory, so those files are copied first.
    """
    try:
        _inside_cwd(path)
        return path
    except PackError:
        dst = outpath.parent / f"{outpath.stem}_files" / path.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dst)
        return dst


def xeus_config_of(train_config: PathLike) -> Optional[str]:
    """``frontend_conf.xeus_config`` of a train config (``None`` without a frontend)."""
    cfg = _load_yaml(train_config)
    if cfg.get("frontend") is None:
        return None
    conf = cfg.get("frontend_conf") or {}
    return conf.get("xeus_config")


def corpora_of(provenance: Optional[PathLike]) -> List[str]:
    """Corpora named by a provenance folder's ``sets.json`` (``data/<corpus>`` keys)."""
    if provenance is None or not (Path(provenance) / "sets.json").is_file():
        return []
    sets = json.loads((Path(provenance) / "sets.json").read_text()).get("sets", {})
    return [k.split("/", 1)[1] for k in sets if k.startswith("data/")]


def label_files(labels_dir: PathLike, corpora: Optional[Sequence[str]] = None) -> List[Path]:
    """``<labels_dir>/<corpus>.yaml`` of the given corpora (all YAML files without
    ``corpora``); a corpus without a label inventory is skipped with a warning."""
    labels_dir = Path(labels_dir)
    if not labels_dir.is_dir():
        raise PackError(f"labels dir {labels_dir} not found")
    if not corpora:
        return sorted(labels_dir.glob("*.yaml"))
    out = []
    for c in corpora:
        p = labels_dir / f"{c}.yaml"
        if p.is_file():
            out.append(p)
        else:
            logger.warning(f"no label inventory {p} for corpus {c}; not packed")
    return out


def _results_figures(results: Path) -> List[Path]:
    """Images that ``RESULTS.md`` shows with a relative path and that exist."""
    out = []
    for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", results.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("/"):
            continue
        p = results.parent / target
        if p.is_file():
            out.append(p)
    return out


def pack(train_config: PathLike, model_file: PathLike, outpath: PathLike,
         results: Optional[PathLike] = None, labels_dir: Optional[PathLike] = None,
         corpora: Optional[Sequence[str]] = None, provenance: Union[PathLike, str, None] = "auto",
         extra: Iterable[PathLike] = ()) -> Path:
    """Pack a full PUNSER model with ``espnet2.main_funcs.pack_funcs.pack``.

    Run from the recipe directory: every file is stored under its path relative to
    the current directory, and the train config's ``frontend_conf.xeus_config`` must be
    such a relative path (see the module docstring).

    Args:
        train_config, model_file: a full model (with an XEUS frontend); for a
            cached-feature model, run :func:`assemble_full_model` first.
        outpath: the archive (``.zip``; ``.tar.gz`` etc. work too).
        results: ``RESULTS.md`` (packed with the figures it shows).
        labels_dir: ``conf/labels``; the inventories of ``corpora`` are packed (default:
            the corpora of the provenance's ``sets.json``, else every inventory).
        provenance: the experiment's ``provenance/`` folder; ``"auto"`` finds the
            nearest one above the train config; ``None`` packs none.
        extra: more files or folders to pack.
    """
    from espnet2.main_funcs.pack_funcs import pack as espnet_pack

    train_config, model_file = Path(train_config), Path(model_file)
    cfg = _load_yaml(train_config)
    if cfg.get("frontend") is None:
        raise PackError(
            f"{train_config} is a cached-feature model (frontend: none) without encoder "
            "weights; assemble it with the pre-trained model's encoder first "
            "(bin/pack.py --train_config <pretrain>/config.yaml --model_file "
            "<pretrain>/valid.loss.best.pth --head_config <this config> "
            "--head_model_file <this model>)")
    state = load_state_dict_safely(model_file)
    if not any(k.startswith("frontend.") for k in state):
        raise PackError(f"{model_file} holds no encoder weights (frontend.*) although "
                        f"{train_config} has a frontend")
    if cfg.get("xeus_checkpoint"):
        raise PackError(f"{train_config} names xeus_checkpoint {cfg['xeus_checkpoint']!r}; "
                        "a packed model must not need it (set it to null)")
    xeus = (cfg.get("frontend_conf") or {}).get("xeus_config")
    if not isinstance(xeus, str):
        raise PackError(f"{train_config}: frontend_conf.xeus_config must name the XEUS "
                        f"architecture YAML, got {xeus!r}")
    if Path(xeus).is_absolute():
        raise PackError(
            f"{train_config}: frontend_conf.xeus_config is the absolute path {xeus}; it must "
            "be relative to the recipe directory (e.g. conf/xeus/xeus.yaml) so that "
            "unpacking rewrites it to the unpacked copy")
    if not Path(xeus).is_file():
        raise PackError(f"XEUS architecture config {xeus} (named by {train_config}) not found "
                        f"from {Path.cwd()}: run the pack from the recipe directory")
    if os.path.normpath(xeus) != _inside_cwd(xeus):
        raise PackError(f"{xeus} is a symbolic link or not normalised; the archive member "
                        f"would be {_inside_cwd(xeus)} and unpacking would not rewrite it")
    _inside_cwd(train_config)
    _inside_cwd(model_file)

    option: List[Path] = [Path(xeus)]
    if (train_config.parent / "assembled_from.yaml").is_file():
        option.append(train_config.parent / "assembled_from.yaml")
    if provenance == "auto":
        provenance = find_provenance(train_config)
    if provenance is not None:
        provenance = Path(provenance)
        if not provenance.is_dir():
            raise PackError(f"provenance folder {provenance} not found")
        _inside_cwd(provenance)
        option.append(provenance)
    if labels_dir is not None:
        files = label_files(labels_dir, corpora or corpora_of(provenance))
        if not files:
            raise PackError(f"no label inventory found in {labels_dir}")
        option += [_stage_below_cwd(f, Path(outpath)) for f in files]
    if results is not None:
        results = Path(results)
        if not results.is_file():
            raise PackError(f"{results} not found (run the scoring stage first)")
        option += [results, *_results_figures(results)]
    option += [Path(p) for p in extra]
    for p in option:
        _inside_cwd(p)
    seen, unique = set(), []
    for p in option:  # a file named twice would be stored twice
        key = _inside_cwd(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    outpath = Path(outpath)
    ext = next((s for s in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True)
                if outpath.name.lower().endswith(s)), None)
    if ext is None:
        raise PackError(f"{outpath}: the archive must end with one of {ARCHIVE_SUFFIXES}")
    # NOTE: pack_funcs picks the format from the suffixes, so the temporary name has
    # no other dot
    tmp = outpath.with_name(f"packing_{os.getpid()}{ext}")
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):  # pack_funcs prints "adding: ..." lines
            espnet_pack(files={"model_file": model_file},
                        yaml_files={"train_config": train_config}, outpath=tmp, option=unique)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(outpath)
    added = [line for line in buf.getvalue().splitlines() if line.startswith("adding: ")]
    for line in added:
        logger.info(line)
    logger.info(f"packed {outpath}: {len(added)} files, {outpath.stat().st_size / 1e6:.1f} MB")
    return outpath


# ---------------------------------------------------------------------------- unpack
def _looks_like_path(tag: str) -> bool:
    return (tag.lower().endswith(ARCHIVE_SUFFIXES) or tag.startswith((".", "/", "~"))
            or os.sep in tag and tag.count("/") != 1)


def _check_keys(info: Dict[str, str], where: str) -> Dict[str, str]:
    missing = [k for k in REQUIRED_KEYS if k not in info]
    if missing:
        raise PackFormatError(
            f"{where}: meta.yaml lacks the key(s) {missing} (it has {sorted(info)}); a "
            "PUNSER pack names yaml_files.train_config and files.model_file, the "
            "arguments of Speech2Emotion (made by python -m espnet2_punser.bin.pack)")
    absent = [f"{k}={v}" for k, v in info.items() if k in REQUIRED_KEYS and not Path(v).exists()]
    if absent:
        raise PackFormatError(f"{where}: meta.yaml names files the pack does not contain: "
                              f"{absent}")
    return {k: info[k] for k in REQUIRED_KEYS}


def _read_meta(meta_yaml: Path, where: str) -> Dict[str, str]:
    try:
        meta = yaml.safe_load(meta_yaml.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise PackFormatError(f"{where}: cannot read meta.yaml ({e})") from e
    if not isinstance(meta, dict):
        raise PackFormatError(f"{where}: meta.yaml is not a mapping")
    lacking = [k for k in ("files", "yaml_files") if not isinstance(meta.get(k), dict)]
    if lacking:
        raise PackFormatError(f"{where}: meta.yaml lacks the section(s) {lacking}; a PUNSER "
                              "pack needs yaml_files.train_config and files.model_file")
    root = meta_yaml.parent
    return {k: str(root / v) for k, v in {**meta["yaml_files"], **meta["files"]}.items()}


def download_and_unpack(model_tag_or_zip: PathLike, cachedir: Optional[PathLike] = None
                        ) -> Dict[str, str]:
    """``{"train_config": ..., "model_file": ...}`` of a packed model.

    ``model_tag_or_zip``: a local archive (unpacked into ``cachedir``), an unzipped
    pack folder (used in place), or a Hugging Face repo id ``org/name[@revision]``
    (snapshot in ``cachedir``) - through ``espnet_model_zoo``'s ``ModelDownloader``.

    ``cachedir`` defaults to ``~/.cache/espnet2_punser``.
    NOTE: it is always passed to ModelDownloader, whose own default writes into the
    site-packages folder of espnet_model_zoo.

    Raises :class:`ModelNotFoundError` for a tag that cannot be found and
    :class:`PackFormatError` for an archive without the expected ``meta.yaml`` keys.
    """
    tag = str(model_tag_or_zip)
    cachedir = Path(cachedir or DEFAULT_CACHEDIR).expanduser().resolve()
    local = Path(tag).expanduser()
    if local.is_dir():
        if not (local / "meta.yaml").is_file():
            raise PackFormatError(f"{local}: a folder without meta.yaml is not an unpacked pack")
        # NOTE: paths in its config stay relative; build_model finds them above the config
        return _check_keys(_read_meta(local / "meta.yaml", tag), tag)
    if not local.exists() and _looks_like_path(tag):
        raise ModelNotFoundError(f"model archive not found: {local}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Expanding a local model ...", distutils
        from espnet_model_zoo.downloader import ModelDownloader, str_to_hash

        downloader = ModelDownloader(cachedir=cachedir)
        if local.is_file():
            archive = local.resolve()
            if not archive.name.lower().endswith(ARCHIVE_SUFFIXES):
                raise PackFormatError(f"{archive}: not a pack archive "
                                      f"({', '.join(ARCHIVE_SUFFIXES)})")
            outdir = cachedir / str_to_hash(archive.absolute())
            meta = outdir / "meta.yaml"
            # NOTE: ModelDownloader caches by path only; a pack rebuilt at the same path
            # would be served from the stale cache, so a newer archive clears it.
            if meta.exists() and meta.stat().st_mtime < archive.stat().st_mtime:
                logger.info(f"{archive} is newer than its unpacked copy; unpacking again")
                shutil.rmtree(outdir)
            try:
                info = downloader.download_and_unpack(str(archive))
            except RuntimeError as e:
                if "meta.yaml" in str(e):
                    raise PackFormatError(
                        f"{archive}: no meta.yaml in the archive; a PUNSER pack is made by "
                        "python -m espnet2_punser.bin.pack") from e
                raise
            except (KeyError, AssertionError) as e:
                raise PackFormatError(f"{archive}: meta.yaml lacks the sections files and "
                                      f"yaml_files ({e!r})") from e
        else:
            try:
                info = downloader.download_and_unpack(tag)
            except (KeyError, AssertionError) as e:
                raise PackFormatError(f"{tag}: its meta.yaml lacks the sections files and "
                                      f"yaml_files ({e!r})") from e
            except FileNotFoundError as e:
                if "meta.yaml" in str(e):
                    raise PackFormatError(f"{tag}: the repository has no meta.yaml; it is "
                                          "not an ESPnet pack") from e
                raise _not_found(tag, e) from e
            except Exception as e:  # noqa: BLE001 - hub errors have many types
                raise _not_found(tag, e) from e
    return _check_keys(info, tag)


def _not_found(tag: str, e: Exception) -> ModelNotFoundError:
    detail = " ".join(str(e).split())[:300]
    return ModelNotFoundError(
        f"cannot find the model {tag!r}: it is not a local file or folder, not a name in "
        f"espnet_model_zoo's table, and the Hugging Face Hub did not provide it "
        f"({type(e).__name__}: {detail}). Check the repo id (org/name[@revision]), the "
        "network, and for a private repo the token (HF_TOKEN or `hf auth login`).")
