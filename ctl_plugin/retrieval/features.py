"""One feature per tracklet from a model in eval mode."""
import torch


@torch.no_grad()
def extract_features(model, loader):
    """(features [N, D] float32, pids [N], camids [N]) of every tracklet of a test-mode
    loader (`build_video_test_loader` / `build_tracklet_loader`), in loader order."""
    feats, pids, camids = [], [], []
    was_training = model.training
    model.eval()
    for batch in loader:
        feats.append(model(batch).float().cpu())
        pids.append(batch["targets"])
        camids.append(batch["camids"])
    model.train(was_training)
    return torch.cat(feats), torch.cat(pids).numpy(), torch.cat(camids).numpy()
