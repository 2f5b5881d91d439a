"""Temporal memory of STMN (Sec. 3.3): attention patterns for typical temporal distractors."""
import torch
from torch import nn

from .addressing import cosine_addressing


class TemporalMemory(nn.Module):
    """Aggregates T frame features into a sequence feature with a recalled attention.

    An LSTM over the clip's temporal keys gives the query u (its last output,
    Eq. 4); u addresses the keys (Eq. 5); the read-out of the values, each a
    vector of T logits, is softmax-normalised over frames into the attention
    a = softmax(sum_n p(n) v_n) (Eq. 6); the sequence feature is sum_t a_t f_t
    (Eq. 7). Values start uniform in [0, 1), keys standard normal, as in the
    official code.
    """

    def __init__(self, feat_dim, size, seq_len):
        super().__init__()
        self.seq_len = seq_len
        self.lstm = nn.LSTM(feat_dim, feat_dim, num_layers=1, batch_first=True)
        self.keys = nn.Parameter(torch.randn(size, feat_dim))
        self.values = nn.Parameter(torch.rand(size, seq_len))

    def forward(self, key_vectors, frame_features):
        """key_vectors, frame_features [B, T, C] -> dict: features [B, C],
        addressing [B, N] (Eq. 5), attention [B, T] (Eq. 6)."""
        if key_vectors.shape != frame_features.shape or key_vectors.shape[1] != self.seq_len:
            raise ValueError(
                f"temporal memory expects keys and frame features of shape [B, {self.seq_len}, C] "
                f"(VIDEO.TRAIN.SEQ_LEN = {self.seq_len}), got {tuple(key_vectors.shape)} "
                f"and {tuple(frame_features.shape)}")
        queries = self.lstm(key_vectors)[0][:, -1]
        addressing = cosine_addressing(queries, self.keys)
        attention = (addressing @ self.values).softmax(dim=1)
        features = torch.einsum("bt,btc->bc", attention, frame_features)
        return {"features": features, "addressing": addressing, "attention": attention}
