"""VIDEO.TEST.MAX_CLIPS_PER_BATCH: at test a batch's clips go through the model a bounded
number at a time; the tracklet features are those of one pass over all clips, and the
memory a long tracklet takes stays that of a short one."""
import json
import os
import subprocess
import sys

from ctl_plugin.config import build_cfg

import pytest
import torch
from fastreid.modeling.meta_arch import build_model

from tests.modeling.test_ctl_model import batch, tiny_cfg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("arch", ["VideoBaseline", "CTL"])
def test_chunked_clips_give_the_features_of_one_pass(arch):
    cfg = tiny_cfg(FEAT_DIM=512)
    cfg.MODEL.META_ARCHITECTURE = arch
    model = build_model(cfg).eval()
    inputs = batch(clips=[1, 5, 3])  # 9 clips of 3 tracklets
    frames_seen = []
    model.backbone.register_forward_hook(lambda m, i, o: frames_seen.append(len(i[0])))
    with torch.no_grad():
        model.max_test_clips = 0
        whole = model(inputs)
        model.max_test_clips = 2
        chunked = model(inputs)
    assert frames_seen[0] == 9 * 4 and frames_seen[1:] == [2 * 4] * 4 + [4]  # T = 4 frames a clip
    assert chunked.shape == whole.shape == (3, 512)
    torch.testing.assert_close(chunked, whole, rtol=1e-6, atol=1e-6)


MEASURE = """
import json, sys
import ctl_plugin, torch
from ctl_plugin.config import build_cfg
from fastreid.modeling.meta_arch import build_model
torch.set_num_threads(1)
cfg = build_cfg(None, ["MODEL.META_ARCHITECTURE", "VideoBaseline", "MODEL.DEVICE", "cpu", "MODEL.BACKBONE.DEPTH", "18x",
                       "MODEL.BACKBONE.FEAT_DIM", "512",
                       "MODEL.BACKBONE.PRETRAIN", "False", "MODEL.HEADS.NUM_CLASSES", "4",
                       "VIDEO.TEST.MAX_CLIPS_PER_BATCH", sys.argv[1]])
model = build_model(cfg).eval()

def status(field):  # MiB
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(field + ":"))

peaks = []
for clips in (8, 150):  # a 48-frame and a 900-frame tracklet at 64 x 32
    images = torch.rand(clips, 6, 3, 64, 32) * 255
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the peak resident set, to the current one
    before = status("VmRSS")
    with torch.no_grad():
        model({"images": images, "num_clips": torch.tensor([clips])})
    peaks.append(status("VmHWM") - before)
print(json.dumps(peaks))
"""


def peak_growth_mib(max_clips):
    out = subprocess.run([sys.executable, "-c", MEASURE, str(max_clips)], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    short, long = json.loads(out.stdout.splitlines()[-1])
    return long - short  # the peak a forward adds to the resident set: long tracklet minus short


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc peak-RSS reset")
def test_a_long_tracklet_takes_the_memory_of_a_short_one():
    """The peak a forward adds to the resident set (Linux's VmHWM, reset before it), for a
    900-frame tracklet against a 48-frame one (the input itself is made before): with 8 clips
    per pass it grows by little; in one pass by the activations of all its frames."""
    bounded, unbounded = peak_growth_mib(8), peak_growth_mib(0)
    assert unbounded > 150 and bounded < unbounded / 2, (bounded, unbounded)


def test_the_key_is_checked():
    from ctl_plugin.config import ConfigError
    from ctl_plugin.config_checks import check_video

    with pytest.raises(ConfigError, match="VIDEO.TEST.MAX_CLIPS_PER_BATCH is -1"):
        check_video(build_cfg(None, ["VIDEO.TEST.MAX_CLIPS_PER_BATCH", "-1"]))
