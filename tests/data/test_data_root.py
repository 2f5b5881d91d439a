"""The plugin's data root is fast-reid's: FASTREID_DATASETS, else the same default."""
import subprocess
import sys

from ctl_plugin.data import build


def test_the_default_data_root_is_fastreids():
    code = ("import os; os.environ.pop('FASTREID_DATASETS', None); import ctl_plugin; "
            "from fastreid.data import build; print(build._root)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == build.DEFAULT_DATA_ROOT


def test_fastreid_datasets_is_read_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path))
    assert build.data_root() == str(tmp_path)
    monkeypatch.delenv("FASTREID_DATASETS")
    assert build.data_root() == "datasets"
