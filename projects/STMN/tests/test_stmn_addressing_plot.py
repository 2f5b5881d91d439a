"""The PNG drawing of STMN's memory addressing."""
import matplotlib.image
import pytest
import torch

from projects.STMN.stmn import draw_addressing


@pytest.mark.parametrize("with_frames", [False, True])
def test_draw_addressing_writes_png_of_requested_size(tmp_path, with_frames):
    t, h, w, m, n = 6, 4, 2, 10, 5
    spatial = torch.randn(t, h, w, m).softmax(-1)
    frames = torch.rand(t, 3, 64, 32) * 255 if with_frames else None
    path = draw_addressing(spatial, torch.randn(n).softmax(0), torch.randn(t).softmax(0),
                           tmp_path / "addressing.png", frames=frames, size=(640, 360), dpi=80)
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (360, 640)
    assert image[..., :3].std() > 0.05  # something was drawn


def test_draw_addressing_rejects_mismatched_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"spatial \[T, h, w, M\]"):
        draw_addressing(torch.rand(6, 4, 2, 10), torch.rand(5), torch.rand(4), tmp_path / "x.png")
