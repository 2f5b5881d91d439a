"""One live training per OUTPUT_DIR; a crashed run leaves no lock behind."""
import os
import signal
import subprocess
import sys
import textwrap

from ctl_plugin import engine
from ctl_plugin.io import FolderLockedError, ProcessLock

import pytest

from tests.test_train_net import parse

HOLD = textwrap.dedent("""
    import sys, time
    from ctl_plugin.io import ProcessLock
    ProcessLock(sys.argv[1], "training (OUTPUT_DIR)").acquire()
    print("locked", flush=True)
    time.sleep(600)
""")


# the holder forks a worker (as a data loader does) that outlives it
HOLD_WITH_WORKER = textwrap.dedent("""
    import os, sys, time
    from ctl_plugin.io import ProcessLock
    ProcessLock(sys.argv[1], "training (OUTPUT_DIR)").acquire()
    worker = os.fork()
    if worker == 0:
        time.sleep(600)
        os._exit(0)
    print("locked", worker, flush=True)
    time.sleep(600)
""")


def hold(path, code=HOLD):
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().split()[0] == "locked"
    return proc


def test_a_second_live_training_into_the_same_output_dir_is_refused(mars_root):
    out = mars_root / "out"
    proc = hold(out / ".train.lock")
    try:
        with pytest.raises(FolderLockedError, match=rf"'{out}' is in use by another training .*pid {proc.pid}"):
            engine.main(parse(out, "SOLVER.MAX_EPOCH", "1"))
        assert not (out / "config.yaml").exists()  # nothing of the live run was touched
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the killed holder left no stuck lock: the same training now runs
    engine.main(parse(out, "SOLVER.MAX_EPOCH", "4", "SOLVER.CHECKPOINT_PERIOD", "4", "TEST.EVAL_PERIOD", "4"))
    assert (out / "model_final.pth").exists()


def test_shared_holders_coexist_and_exclude_an_exclusive_one(tmp_path):
    path = tmp_path / "cache" / ".extract.lock"
    a = ProcessLock(str(path), "extraction", shared=True).acquire()
    b = ProcessLock(str(path), "extraction", shared=True).acquire()
    with pytest.raises(FolderLockedError, match="in use by another extraction"):
        ProcessLock(str(path), "extraction").acquire()
    a.release()
    b.release()
    ProcessLock(str(path), "extraction").acquire().release()


def test_a_killed_holders_forked_worker_does_not_keep_the_lock(tmp_path):
    path = tmp_path / "out" / ".train.lock"
    proc = subprocess.Popen([sys.executable, "-c", HOLD_WITH_WORKER, str(path)], stdout=subprocess.PIPE, text=True)
    word, worker = proc.stdout.readline().split()
    assert word == "locked"
    try:
        with pytest.raises(FolderLockedError, match=f"pid {proc.pid}"):
            ProcessLock(str(path), "training (OUTPUT_DIR)").acquire()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        os.kill(int(worker), 0)  # the worker still lives, and yet the lock is free
        ProcessLock(str(path), "training (OUTPUT_DIR)").acquire().release()
    finally:
        os.kill(int(worker), signal.SIGKILL)
