"""The docs' checkable claims hold: the compatibility fixes README lists are compat.py's, every
config key the docs name exists, and every flag of a documented command is in its --help."""
import contextlib
import functools
import glob
import io
import os
import re
import sys

from ctl_plugin import compat
from ctl_plugin.config import build_cfg

import pytest
from fastreid.engine import default_argument_parser

from tests.test_tools import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = sorted(["README.md", "datasets/README.md", "bench/README.md",
               *(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md"))),
               *(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "projects", "*", "README.md")))])
NODES = ("MODEL", "INPUT", "DATASETS", "DATALOADER", "SOLVER", "TEST", "VIDEO", "KEYPOINTS", "CTL", "GRL",
         "STMN", "KD")
KEY = re.compile(rf"\b(?:{'|'.join(NODES)})(?:\.[A-Z0-9_]+)+")
CFG = build_cfg()  # the plugin's and the projects' keys on fast-reid's
COMMAND = re.compile(r"^\s*(?:\S+=\S+\s+)*python\s+((?:tools|bench)/[\w/]+\.py|train_net\.py)(.*)$")


def read(doc):
    with open(os.path.join(ROOT, doc)) as f:
        return f.read()


def compat_problems(text):
    listed = set(re.findall(r"`(fix_\w+)`", text))
    fixes = {f.__name__ for f in compat.BEFORE_IMPORT + compat.AFTER_IMPORT}
    return [f"lists `{n}`, which compat.py does not apply" for n in sorted(listed - fixes)] + \
        [f"does not list compat.py's `{n}`" for n in sorted(fixes - listed)]


def config_key_problems(text):
    problems = []
    for key in sorted(set(KEY.findall(text))):
        node = CFG
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                problems.append(f"names {key}, which the config does not have")
                break
            node = node[part]
    return problems


def commands(text):
    """(script, flags) of every `python <script> ...` line of the fenced code blocks."""
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            m = COMMAND.match(line)
            if m:
                found.append((m.group(1), re.findall(r"(?<!\S)(--[a-z][\w-]*)", m.group(2))))
    for line in re.findall(r"^    (python .*)$", text, re.M):  # indented code blocks
        m = COMMAND.match(line)
        if m:
            found.append((m.group(1), re.findall(r"(?<!\S)(--[a-z][\w-]*)", m.group(2))))
    return found


@functools.cache
def help_text(script):
    if script == "train_net.py":
        return default_argument_parser().format_help()
    out, folder = io.StringIO(), os.path.dirname(os.path.join(ROOT, script))
    sys.path.insert(0, folder)  # a script's sibling modules (bench/official.py)
    try:
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            load_tool(os.path.join(ROOT, script)).main(["--help"])
    finally:
        sys.path.remove(folder)
    return out.getvalue()


def command_problems(text):
    problems = []
    for script, flags in commands(text):
        if not os.path.isfile(os.path.join(ROOT, script)):
            problems.append(f"runs {script}, which does not exist")
            continue
        usage = help_text(script)
        problems += [f"runs {script} {flag}, which its --help does not offer" for flag in flags
                     if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", usage)]
    return problems


def test_readme_lists_the_compat_fixes():
    assert compat_problems(read("README.md")) == []


@pytest.mark.parametrize("doc", DOCS)
def test_config_keys_named_in_the_docs_exist(doc):
    assert config_key_problems(read(doc)) == []


@pytest.mark.parametrize("doc", DOCS)
def test_documented_commands_take_the_documented_flags(doc):
    assert command_problems(read(doc)) == []


def test_the_docs_hold_commands_and_keys_to_check():
    readme = read("README.md")
    assert len(commands(readme)) >= 10 and len(set(KEY.findall(readme))) >= 30


def test_a_planted_false_claim_is_caught():
    planted = read("README.md").replace("`fix_cpu_ddp`", "`fix_cpu_ddb`") + """
Set `CTL.GCL.WINDOWS` to 5.

```bash
python tools/demo.py --data-root datasets --seeds 3
```
"""
    assert compat_problems(planted) == ["lists `fix_cpu_ddb`, which compat.py does not apply",
                                        "does not list compat.py's `fix_cpu_ddp`"]
    assert config_key_problems(planted) == ["names CTL.GCL.WINDOWS, which the config does not have"]
    assert "runs tools/demo.py --seeds, which its --help does not offer" in command_problems(planted)
    assert "runs tools/demo.py --data-root, which its --help does not offer" not in command_problems(planted)
