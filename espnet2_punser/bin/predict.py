#!/usr/bin/env python3
r"""punser-predict: emotions of audio files with a PUNSER model.

Usage:
    punser-predict --model org/punser call.wav interview.mp3 clip.mp4
    punser-predict --model exp/packed/punser.zip --json *.flac
    punser-predict --train_config exp/m/config.yaml --model_file exp/m/model.pth a.wav
    punser-predict --model org/punser --window 4 --hop 2 \
        --timeline call.csv --plot call.png call.wav          # a long recording

Audio: wav, flac, ogg (soundfile) and mp3, mp4/m4a, aac, webm (PyAV); any sample
rate and number of channels (down-mixed to mono, resampled to 16 kHz).

Output (stdout): a table with one row per file: the top emotion, the probability of
each competing class (the model's classes, or --classes), and valence, arousal and
dominance in [0, 1]; --json prints the same as JSON. Progress, warnings and errors go
to stderr.

Long recordings: with --window W (seconds) each file is cut into windows of W seconds
every --hop seconds (default W/2; the last window ends at the end of the file) that go
through the model in batches. The file's row then holds the mean over its windows;
--timeline writes every window (CSV, or JSON for a .json name) and --plot draws the
class probabilities and V/A/D over time (PNG). With several files, --plot X.png writes
X_<file stem>.png per file and the timeline has a 'file' column.

Errors are per file: an unreadable file, NaN samples or a clip shorter than 25 ms is
reported in its row and the other files are still processed; a silent file is
processed with a warning. Exit status: 0 when every file was processed, 1 when at
least one file failed, 2 for a usage error or a model that cannot be loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from espnet2_punser.bin import doc_parser

LONG_WITHOUT_WINDOW = 60.0  # seconds: suggest --window above this


@dataclass
class FileResult:
    path: str
    duration: float = float("nan")
    prediction: Optional[object] = None  # EmotionPrediction
    windows: List[object] = field(default_factory=list)  # WindowPrediction

    @property
    def error(self) -> Optional[str]:
        return None if self.prediction is None else self.prediction.error


def get_parser() -> argparse.ArgumentParser:
    p = doc_parser(__doc__, prog="punser-predict")
    p.add_argument("audio", nargs="+", help="audio files (wav, flac, mp3, mp4, ...)")
    m = p.add_argument_group("model (--model, or --train_config and --model_file)")
    m.add_argument("--model", default=None,
                   help="packed model: a zip, an unzipped pack folder or a Hugging Face repo "
                        "id (org/name[@revision])")
    m.add_argument("--cachedir", default=None,
                   help="where --model is downloaded/unpacked (default ~/.cache/espnet2_punser)")
    m.add_argument("--train_config", default=None, help="config.yaml of a trained full model")
    m.add_argument("--model_file", default=None, help="its weights (*.pth)")
    p.add_argument("--classes", default=None,
                   help="classes that compete, e.g. 'neutral happy sad angry' (default: the "
                        "model's; the unified classes are neutral happy sad angry surprised "
                        "fear disgust excited)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--batch_bins", type=int, default=800000,
                   help="padded samples per batch (800000 = 50 s of 16 kHz audio)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    w = p.add_argument_group("long recordings")
    w.add_argument("--window", type=float, default=None, help="window length in seconds")
    w.add_argument("--hop", type=float, default=None,
                   help="window shift in seconds (default window/2)")
    w.add_argument("--timeline", default=None,
                   help="write every window to this .csv (or .json) file (needs --window)")
    w.add_argument("--plot", default=None,
                   help="PNG of class probabilities and V/A/D over time (needs --window)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def _check_args(p: argparse.ArgumentParser, args) -> None:
    if args.model and (args.train_config or args.model_file):
        p.error("give --model, or --train_config and --model_file, not both")
    if not args.model and not (args.train_config and args.model_file):
        p.error("give --model (zip or repo id), or --train_config and --model_file")
    if args.window is not None:
        if not args.window >= 0.025:
            p.error("--window must be at least 0.025 s (the encoder's receptive field)")
        if args.hop is None:
            args.hop = args.window / 2
        if not args.hop > 0:
            p.error("--hop must be positive")
    elif args.hop is not None or args.timeline or args.plot:
        p.error("--hop, --timeline and --plot need --window")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            p.error(f"--device {args.device}: no CUDA device is available")
    if args.timeline and Path(args.timeline).suffix.lower() not in (".csv", ".json"):
        p.error("--timeline must end with .csv or .json")
    if args.plot and Path(args.plot).suffix.lower() != ".png":
        p.error("--plot must end with .png")


def _log(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def load_model(args):
    """Speech2Emotion from --model or --train_config/--model_file (ESPnet's import-time
    prints go to stderr so that stdout stays a clean table or JSON)."""
    from espnet2_punser.inference import Speech2Emotion

    subset = args.classes.replace(",", " ").split() if args.classes else None
    common = dict(device=args.device, class_subset=subset, batch_bins=args.batch_bins)
    with contextlib.redirect_stdout(sys.stderr):
        if args.model:
            s2e = Speech2Emotion.from_pretrained(args.model, cachedir=args.cachedir, **common)
        else:
            s2e = Speech2Emotion(args.train_config, args.model_file, **common)
    if s2e.model.frontend is None:
        raise ValueError("this model has no encoder (it was trained on cached features); "
                         "pack it with its encoder: python -m espnet2_punser.bin.pack "
                         "--head_config ... --head_model_file ...")
    return s2e


def predict_files(s2e, paths: List[str], window: Optional[float] = None,
                  hop: Optional[float] = None, quiet: bool = False) -> List[FileResult]:
    """Every file -> a :class:`FileResult`; nothing raises for a bad file."""
    from espnet2_punser.audio import AudioError, read_audio, to_mono_16k
    from espnet2_punser.inference import EmotionPrediction, sliding_windows

    results = [FileResult(p) for p in paths]
    audio = {}
    for i, r in enumerate(results):
        try:
            x, fs = read_audio(r.path)
            x = to_mono_16k(x, fs)
        except (AudioError, OSError, ValueError) as e:
            msg = str(e)
            if msg.startswith(f"{r.path}: "):  # AudioError names the file; the row does too
                msg = msg[len(r.path) + 2:]
            r.prediction = EmotionPrediction.failed(msg)
            continue
        r.duration = x.size / 16000.0
        audio[i] = x
        if window is None and r.duration > LONG_WITHOUT_WINDOW:
            _log(f"{r.path}: {r.duration:.0f} s in one piece; --window (e.g. --window 4) "
                 "gives a timeline and bounded memory", quiet)

    if window is None:
        idx = list(audio)
        total_s = sum(audio[i].size for i in idx) / 16000.0

        def progress(done, total):
            if total > 1:
                _log(f"processed {done}/{total} files", quiet)

        if total_s > LONG_WITHOUT_WINDOW:
            _log(f"{len(idx)} readable files, {total_s:.0f} s of audio", quiet)
        preds = s2e.predict_batch([(audio[i], 16000) for i in idx],
                                  progress=progress if total_s > LONG_WITHOUT_WINDOW else None)
        for i, p in zip(idx, preds):
            results[i].prediction = p
        return results

    for i in audio:
        r = results[i]

        def progress(done, total, name=r.path):
            _log(f"{name}: {done}/{total} windows ({100 * done // max(total, 1)} %)", quiet)

        n_win = len(sliding_windows(audio[i].size, int(round(window * 16000)),
                                    int(round(hop * 16000))))
        _log(f"{r.path}: {r.duration:.1f} s -> {n_win} windows of {window:g} s every "
             f"{hop:g} s", quiet)
        r.windows = s2e.predict_windows(audio[i], 16000, window, hop, progress=progress)
        preds = [w.prediction for w in r.windows]
        summary = EmotionPrediction.mean(preds)
        failed = [p for p in preds if p.error]
        silent = [p for p in preds if p.ok and p.warnings]
        if failed and summary.ok:
            reasons = sorted({p.error for p in failed})
            summary.warnings.append(f"{len(failed)} of {len(preds)} windows failed: "
                                    + "; ".join(reasons))
        if silent:
            summary.warnings.append(f"{len(silent)} of {len(preds)} windows silent")
        r.prediction = summary
    return results


# -------------------------------------------------------------------------- output
def _fmt(x: float, digits: int = 3) -> str:
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_table(results: List[FileResult], classes: List[str]) -> str:
    names = [r.path for r in results]
    wf = min(max([len("file")] + [len(n) for n in names]), 48)
    wc = max(len(c) for c in classes + ["emotion", "dominance"])
    head = [f"{'file':<{wf}}", f"{'emotion':<{wc}}"] + [f"{c:>{max(len(c), 5)}}" for c in classes] \
        + [f"{d:>9}" for d in ("valence", "arousal", "dominance")]
    lines = ["  ".join(head)]
    notes = []
    for r in results:
        name = r.path if len(r.path) <= wf else "..." + r.path[-(wf - 3):]
        p = r.prediction
        if p.error:
            lines.append(f"{name:<{wf}}  ERROR: {p.error}")
            continue
        row = [f"{name:<{wf}}", f"{p.label:<{wc}}"]
        row += [f"{_fmt(p.probs[c]) if c in p.probs else '-':>{max(len(c), 5)}}"
                for c in classes]
        row += [f"{_fmt(v):>9}" for v in p.vad]
        lines.append("  ".join(row))
        notes += [f"warning: {r.path}: {w}" for w in p.warnings]
    return "\n".join(lines + ([""] + notes if notes else []))


def result_dict(r: FileResult) -> dict:
    d = {"file": r.path, "duration": None if math.isnan(r.duration) else round(r.duration, 3)}
    d.update(r.prediction.to_dict())
    if r.windows:
        d["windows"] = len(r.windows)
    return d


def write_timeline(results: List[FileResult], path: Path, classes: List[str],
                   window: float, hop: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        doc = {"window": window, "hop": hop, "classes": classes, "files": []}
        for r in results:
            doc["files"].append({
                "file": r.path, "error": None if r.windows else r.error,
                "windows": [dict(start=round(w.start, 4), end=round(w.end, 4),
                                 **w.prediction.to_dict()) for w in r.windows]})
        path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        return
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["file", "start", "end", "label", *classes, "valence", "arousal",
                      "dominance", "note"])
        for r in results:
            if not r.windows:
                out.writerow([r.path, "", "", "", *[""] * len(classes), "", "", "",
                              f"error: {r.error}"])
            for w in r.windows:
                p = w.prediction
                note = f"error: {p.error}" if p.error else "; ".join(p.warnings)
                out.writerow([r.path, f"{w.start:.3f}", f"{w.end:.3f}", p.label or "",
                              *[_fmt(p.probs[c], 6) if c in p.probs else "" for c in classes],
                              *[_fmt(v, 6) if p.ok else "" for v in p.vad], note])


def plot_timeline(r: FileResult, path: Path, classes: List[str], window: float,
                  hop: float) -> None:
    """Class probabilities (top) and V/A/D (bottom) against window centre time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    t = np.array([(w.start + w.end) / 2 for w in r.windows])
    nan = float("nan")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 2]})
    cmap = plt.get_cmap("tab10")
    for k, c in enumerate(classes):
        y = [w.prediction.probs.get(c, nan) if w.prediction.ok else nan for w in r.windows]
        ax1.plot(t, y, marker="o", markersize=3, linewidth=1.5, color=cmap(k), label=c)
    ax1.set_ylabel("class probability")
    ax1.set_ylim(-0.02, 1.02)
    ax1.grid(alpha=0.3)
    ax1.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="emotion", fontsize=9)
    for k, (name, color) in enumerate(zip(("valence", "arousal", "dominance"),
                                          ("tab:green", "tab:red", "tab:purple"))):
        y = [w.prediction.vad[k] if w.prediction.ok else nan for w in r.windows]
        ax2.plot(t, y, marker="s", markersize=3, linewidth=1.5, color=color, label=name)
    ax2.set_ylabel("value (0 = low, 1 = high)")
    ax2.set_xlabel("time (s), window centre")
    ax2.set_ylim(-0.02, 1.02)
    ax2.grid(alpha=0.3)
    ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="dimension", fontsize=9)
    ax2.set_xlim(0, max(r.duration, float(t.max()) if t.size else 1.0))
    fig.suptitle(f"PUNSER emotion timeline: {Path(r.path).name}")
    ax1.set_title(f"{len(r.windows)} windows of {window:g} s every {hop:g} s; "
                  f"overall: {r.prediction.label}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_paths(results: List[FileResult], plot: str) -> List[Optional[Path]]:
    base = Path(plot)
    if len(results) == 1:
        return [base if results[0].windows else None]
    out, used = [], set()
    for r in results:
        if not r.windows:
            out.append(None)
            continue
        stem = Path(r.path).stem
        name = base.with_name(f"{base.stem}_{stem}{base.suffix}")
        n = 2
        while name in used:
            name = base.with_name(f"{base.stem}_{stem}_{n}{base.suffix}")
            n += 1
        used.add(name)
        out.append(name)
    return out


def main(cmd=None) -> int:
    parser = get_parser()
    args = parser.parse_args(cmd)
    _check_args(parser, args)
    from espnet2_punser.inference import ModelLoadError
    from espnet2_punser.packing import ModelNotFoundError, PackFormatError

    try:
        s2e = load_model(args)
    except (ModelLoadError, ModelNotFoundError, PackFormatError, FileNotFoundError,
            ValueError) as e:
        print(f"punser-predict: error: {e}", file=sys.stderr)
        return 2
    classes = s2e.classes  # --classes, else the model's, in the unified order
    results = predict_files(s2e, args.audio, args.window, args.hop, args.quiet)

    if args.json:
        print(json.dumps([result_dict(r) for r in results], indent=1))
    else:
        print(format_table(results, classes))
    if args.timeline:
        write_timeline(results, Path(args.timeline), classes, args.window, args.hop)
        _log(f"timeline: {args.timeline}", args.quiet)
    if args.plot:
        for r, path in zip(results, _plot_paths(results, args.plot)):
            if path is not None:
                plot_timeline(r, path, classes, args.window, args.hop)
                _log(f"plot: {path}", args.quiet)
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"punser-predict: {r.path}: {r.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
