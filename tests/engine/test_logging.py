"""One set of fast-reid log handlers per process, however many runs it sets up."""
import logging
import os

from ctl_plugin import engine

from fastreid.engine import default_argument_parser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def setup_run(output_dir):
    return engine.setup(default_argument_parser().parse_args(
        ["--config-file", os.path.join(ROOT, "configs", "Base-Video.yml"), "--eval-only",
         "MODEL.DEVICE", "cpu", "OUTPUT_DIR", str(output_dir)]))


def test_each_run_logs_its_config_once_and_only_into_its_own_log(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    setup_run(first)
    setup_run(second)
    logging.getLogger("fastreid").info("a line of the second run")
    handlers = logging.getLogger("fastreid").handlers
    assert len(handlers) == 2, handlers  # the console and the second run's log.txt
    for handler in handlers:
        handler.flush()
    first_log, second_log = (open(d / "log.txt").read() for d in (first, second))
    assert first_log.count("Running with full config") == 1
    assert second_log.count("Running with full config") == 1
    assert "a line of the second run" in second_log and "a line of the second run" not in first_log
    assert capsys.readouterr().out.count("a line of the second run") == 1
