#!/usr/bin/env python3
"""Train a PUNSER model (pre-training or fine-tuning) with ESPnet's trainer.

Example:
    python -m espnet2_punser.bin.ser_train --config conf/pretrain.yaml \
        --train_data_path_and_name_and_type dump/pretrain/train/wav.scp,speech,sound \
        --train_data_path_and_name_and_type dump/pretrain/train/cat,cat,text_int \
        --train_data_path_and_name_and_type dump/pretrain/train/vad,vad,text_float \
        ... --output_dir exp/pretrain
"""

from espnet2_punser.tasks.ser import SERTask


def get_parser():
    return SERTask.get_parser()


def main(cmd=None):
    SERTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
