# The two commands README gives: `make demo` and `make test`.
# Both install what is missing into .venv first and are quick when it is there.

VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
# On a GPU machine, install your CUDA build of torch 2.13.0 into $(VENV) first:
# an importable torch is kept as it is.
TORCH   ?= torch==2.13.0
SITE     = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
STAMP   := $(VENV)/.ctl-reid-installed
PYTEST_ARGS ?=

.PHONY: install demo test clean-venv

install: $(STAMP)

$(STAMP): Makefile requirements/base.txt requirements/test.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -c 'import torch' 2>/dev/null || $(PIP) install -q $(TORCH)
	$(PIP) install -q torchvision==0.28.0
	$(PIP) install -q --no-deps fastreid==1.4.0
	$(PIP) install -q -r requirements/base.txt -r requirements/test.txt
	# fast-reid's Cython rank evaluator (33 s -> 1.7 s at MARS size).
	cd $(SITE)/fastreid/evaluation/rank_cylib && $(abspath $(PY)) setup.py -q build_ext --inplace && rm -rf build
	$(PY) -c 'import ctl_plugin, fastreid.evaluation.rank_cylib.rank_cy'
	touch $@

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS) tests projects

clean-venv:
	rm -rf $(VENV)
