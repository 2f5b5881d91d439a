"""k-reciprocal Jaccard distance (Zhong et al., CVPR 2017) on sparse matrices.

The same algorithm, step for step, as fast-reid's
`fastreid.utils.compute_dist.compute_jaccard_distance`, but every step is a
vectorised operation on sparse N x N matrices (each row holds a few hundred
non-zeros) and the Jaccard distance is computed only for the rows and columns
asked for:

1. initial ranking: the k1 nearest features of every feature (itself
   included) over all N features, by float32 squared Euclidean distances from
   blocked matrix products over the upper triangle (fast-reid searches a faiss `IndexFlatL2`, which computes
   the same distances; the two orders can differ only where two distances differ
   by float32 rounding); N(i, k) is its first k + 1 entries (i itself and k
   others, Eq. 3), at most the k1 searched;
2. k-reciprocal sets R(i, k) = {j in N(i, k) : i in N(j, k)} for k = k1 and
   round(k1 / 2) (Eq. 4);
3. expansion R*(i) = R(i, k1) united with every R(c, k1/2), c in R(i, k1), that
   shares more than 2/3 of its members with R(i, k1) (Eq. 5);
4. V[i, j] = softmax over j in R*(i) of -||x_i - x_j||^2 (the Gaussian kernel
   of Eq. 8, normalised per row as fast-reid does);
5. local query expansion: V[i] <- mean of V over the k2 rows N(i, k2) (Eq. 11;
   skipped for k2 = 1, and N(i, k2) holds at most k1 rows, as in fast-reid);
6. d_J(i, j) = 1 - S / (2 - S) with S = sum_k min(V[i, k], V[j, k]) (Eq. 10,
   whose sum of maxima is 2 - S since every row of V sums to 1), clipped at 0.
"""
import warnings

import numpy as np
import scipy.sparse as sp
import torch

from ..config import ConfigError

__all__ = ["initial_ranking", "reciprocal_neighbours", "expanded_neighbours", "kernel_weights",
           "local_query_expansion", "jaccard_distance", "k_reciprocal_jaccard"]

# Most (row, column, shared column) triples held at once while summing minima (step 6);
# 2^23 triples take about 300 MiB of temporaries.
TRIPLES_PER_CHUNK = 1 << 23
# Side of the square blocks of float32 distances of step 1.
ROWS_PER_BLOCK = 2048


def initial_ranking(features: torch.Tensor, k: int) -> np.ndarray:
    """[N, k] int64: indices of the k nearest features of each feature (Eq. 3), nearest first.

    Squared Euclidean distances ||x_i||^2 + ||x_j||^2 - 2 x_i.x_j in float32, as faiss's
    exact `IndexFlatL2` search computes them, by blocks of ROWS_PER_BLOCK x ROWS_PER_BLOCK
    on the features' device. The distance matrix is symmetric, so only the blocks on and
    above the diagonal are computed, each giving the k smallest of its rows and of its
    columns; the k smallest of these candidates are each row's ranking."""
    feats = features.float()
    n = feats.size(0)
    squares = feats.pow(2).sum(dim=1)
    starts = range(0, n, ROWS_PER_BLOCK)
    values, indices = [[] for _ in starts], [[] for _ in starts]
    for a, i in enumerate(starts):
        for b, j in enumerate(starts[a:], start=a):
            rows, cols = slice(i, i + ROWS_PER_BLOCK), slice(j, j + ROWS_PER_BLOCK)
            block = torch.addmm(squares[rows, None] + squares[None, cols], feats[rows], feats[cols].T, alpha=-2)
            nearest = block.topk(min(k, block.size(1)), dim=1, largest=False)
            values[a].append(nearest.values)
            indices[a].append(nearest.indices + j)
            if b != a:
                nearest = block.topk(min(k, block.size(0)), dim=0, largest=False)
                values[b].append(nearest.values.T)
                indices[b].append(nearest.indices.T + i)
    ranking = []
    for candidates, where in zip(values, indices):
        order = torch.cat(candidates, dim=1).topk(k, dim=1, largest=False).indices
        ranking.append(torch.cat(where, dim=1).gather(1, order))
    return torch.cat(ranking).cpu().numpy()


def _neighbour_matrix(ranking: np.ndarray, k: int) -> sp.csr_matrix:
    """Boolean [N, N]: row i marks the first k entries of its ranking (at most all it has)."""
    n = ranking.shape[0]
    cols = ranking[:, :k].ravel()
    rows = np.repeat(np.arange(n), ranking[:, :k].shape[1])
    return sp.csr_matrix((np.ones(len(cols), dtype=bool), (rows, cols)), shape=(n, n))


def reciprocal_neighbours(ranking: np.ndarray, k: int) -> sp.csr_matrix:
    """Boolean [N, N] with row i marking R(i, k) = {j in N(i, k) : i in N(j, k)} (Eq. 4),
    N(i, k) the first k + 1 entries of i's ranking."""
    neighbours = _neighbour_matrix(ranking, k + 1)
    return neighbours.multiply(neighbours.T).tocsr()


def expanded_neighbours(ranking: np.ndarray, k1: int) -> sp.csr_matrix:
    """Boolean [N, N] with row i marking R*(i) (Eq. 5): R(i, k1) united with R(c, k1/2) for each
    candidate c in R(i, k1) with |R(c, k1/2) & R(i, k1)| > 2/3 |R(c, k1/2)|; k1/2 is rounded
    half to even (`np.around`), as in fast-reid."""
    full = reciprocal_neighbours(ranking, k1)
    half = reciprocal_neighbours(ranking, int(np.around(k1 / 2)))
    full_int, half_int = full.astype(np.int64), half.astype(np.int64)
    # overlap[i, c] = |R(i, k1) & R(c, k1/2)|, kept only where c is a candidate of i
    overlap = full_int.multiply(full_int @ half_int.T).tocoo()
    half_sizes = np.diff(half.indptr)
    accepted = overlap.data > 2 / 3 * half_sizes[overlap.col]
    n = ranking.shape[0]
    chosen = sp.csr_matrix((np.ones(int(accepted.sum()), dtype=np.int64),
                            (overlap.row[accepted], overlap.col[accepted])), shape=(n, n))
    expansion = (full_int + chosen @ half_int).tocsr()
    expansion.data[:] = 1
    expansion.sort_indices()
    return expansion.astype(bool)


def kernel_weights(features: torch.Tensor, support: sp.csr_matrix) -> sp.csr_matrix:
    """float32 [N, N]: V[i, j] = exp(-d_ij) / sum_{j' in R*(i)} exp(-d_ij') on the support
    R*(i) (Eq. 8, normalised per row), with d the squared Euclidean distance computed as
    ||x_i||^2 + ||x_j||^2 - 2 x_i.x_j in float32, as fast-reid does; the dot products are
    taken on the support only (a sampled matrix product)."""
    features = features.cpu().float()
    n = features.size(0)
    indptr = torch.from_numpy(support.indptr.astype(np.int64))
    cols = torch.from_numpy(support.indices.astype(np.int64))
    rows = torch.repeat_interleave(torch.arange(n), indptr.diff())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta state")
        pattern = torch.sparse_csr_tensor(indptr, cols, torch.zeros(len(cols)), (n, n), check_invariants=False)
        dots = torch.sparse.sampled_addmm(pattern, features, features.T, beta=0.0).values()
    squares = features.pow(2).sum(dim=1)
    logits = -((squares[rows] + squares[cols]) - 2 * dots)
    row_max = torch.full((n,), -float("inf")).scatter_reduce(0, rows, logits, "amax", include_self=True)
    exps = torch.exp(logits - row_max[rows])
    sums = torch.zeros(n).index_add_(0, rows, exps)
    weights = (exps / sums[rows]).numpy()
    return sp.csr_matrix((weights, support.indices, support.indptr), shape=(n, n))


def local_query_expansion(weights: sp.csr_matrix, ranking: np.ndarray, k2: int) -> sp.csr_matrix:
    """V[i] <- mean of V[j] over the first k2 entries of i's ranking (Eq. 11)."""
    averaging = _neighbour_matrix(ranking, k2).astype(np.float32)
    averaging.data /= np.float32(np.diff(averaging.indptr)[0])
    return (averaging @ weights).tocsr()


def _ragged_arange(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for every (s, c)."""
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))


def jaccard_distance(weights: sp.csr_matrix, rows=slice(None), cols=slice(None)) -> np.ndarray:
    """float32 [len(rows), len(cols)]: 1 - S / (2 - S), S_ij = sum_k min(V[i, k], V[j, k]),
    clipped at 0 (Eq. 10), for i in `rows` and j in `cols` of V.

    For a chunk of rows, every non-zero V[i, k] meets every non-zero V[j, k] of column k
    among `cols` (an inverted index, V restricted to `cols` in CSC form); the minima of
    these pairs are summed per (i, j) with one bincount."""
    left = weights[rows].tocsr()
    right = weights[cols].tocsc()
    num_rows, num_cols = left.shape[0], right.shape[0]
    column_sizes = np.diff(right.indptr)
    pairs_per_entry = column_sizes[left.indices]
    pairs_before_row = np.concatenate([[0], np.cumsum(pairs_per_entry)])[left.indptr]
    step = max(1, TRIPLES_PER_CHUNK // max(1, num_cols))
    shared = np.zeros((num_rows, num_cols), dtype=np.float32)
    start = 0
    while start < num_rows:
        within_budget = np.searchsorted(pairs_before_row, pairs_before_row[start] + TRIPLES_PER_CHUNK, "right") - 1
        stop = min(max(within_budget, start + 1), start + step, num_rows)
        lo, hi = left.indptr[start], left.indptr[stop]
        entry_rows = np.repeat(np.arange(stop - start), np.diff(left.indptr[start:stop + 1]))
        counts = pairs_per_entry[lo:hi]
        partners = _ragged_arange(right.indptr[left.indices[lo:hi]], counts)
        minima = np.minimum(np.repeat(left.data[lo:hi], counts), right.data[partners])
        keys = np.repeat(entry_rows, counts) * num_cols + right.indices[partners]
        shared[start:stop] = np.bincount(keys, weights=minima, minlength=(stop - start) * num_cols) \
            .reshape(stop - start, num_cols)
        start = stop
    distance = 1 - shared / (2 - shared)
    np.maximum(distance, 0, out=distance)
    return distance


def k_reciprocal_jaccard(features: torch.Tensor, k1: int, k2: int, rows=slice(None),
                         cols=slice(None)) -> np.ndarray:
    """fast-reid's k-reciprocal Jaccard distance of `features` [N, d] restricted to
    [rows, cols] (slices or index arrays), float32; see the module docstring for the steps."""
    if features.dim() != 2:
        raise ValueError(f"k-reciprocal re-ranking expects features [N, d], got shape {tuple(features.shape)}")
    n = features.size(0)
    if not 1 <= k1 <= n:
        raise ConfigError(f"TEST.RERANK.K1 = {k1}: must be in [1, N = {n}], N the number of query plus "
                          "gallery features (no feature has more than N neighbours)")
    if k2 < 1:
        raise ConfigError(f"TEST.RERANK.K2 = {k2}: must be at least 1")
    features = features.detach().cpu().float()
    ranking = initial_ranking(features, k1)
    weights = kernel_weights(features, expanded_neighbours(ranking, k1))
    if k2 != 1:
        weights = local_query_expansion(weights, ranking, k2)
    return jaccard_distance(weights, rows, cols)
