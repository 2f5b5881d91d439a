"""Multi-process training: fast-reid's NCCL `launch` on CUDA machines, gloo CPU processes elsewhere.

`python train_net.py --num-gpus N` on a machine without CUDA runs N CPU processes
that train one model with DistributedDataParallel over gloo.
"""
import logging
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from fastreid.engine import launch as fastreid_launch
from fastreid.utils import comm

logger = logging.getLogger(__name__)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_local_process_group(group):
    """fast-reid keeps a machine's process group in `comm._LOCAL_PROCESS_GROUP`, which its own
    `launch` sets and `comm.get_local_rank` / `get_local_size` read; it has no setter. This is
    the plugin's one write of it (tests/test_distributed.py fails if fast-reid renames it)."""
    comm._LOCAL_PROCESS_GROUP = group


def _cpu_worker(rank, main_func, world_size, dist_url, args):
    dist.init_process_group("gloo", init_method=dist_url, world_size=world_size, rank=rank)
    set_local_process_group(dist.new_group(list(range(world_size))))
    torch.set_num_threads(max(torch.get_num_threads() // world_size, 1))
    comm.synchronize()
    try:
        main_func(*args)
    finally:
        dist.destroy_process_group()


def launch(main_func, num_gpus_per_machine, num_machines=1, machine_rank=0, dist_url=None, args=()):
    """fast-reid's `launch`, or `num_gpus_per_machine` gloo CPU processes when CUDA is absent."""
    if torch.cuda.is_available() or num_gpus_per_machine * num_machines <= 1:
        return fastreid_launch(main_func, num_gpus_per_machine, num_machines, machine_rank, dist_url, args)
    if num_machines != 1:
        raise ValueError("CPU (gloo) training runs on one machine; --num-machines must be 1")
    url = f"tcp://127.0.0.1:{_free_port()}"
    logger.info(f"No CUDA: training with {num_gpus_per_machine} gloo CPU processes at {url}")
    mp.start_processes(_cpu_worker, nprocs=num_gpus_per_machine, start_method="spawn",
                       args=(main_func, num_gpus_per_machine, url, args))
