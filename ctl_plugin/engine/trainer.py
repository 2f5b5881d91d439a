"""`VideoTrainer`: fast-reid's DefaultTrainer with the video loaders, and runs that can be
repeated, resumed and trusted.

- training batches come from `build_video_train_loader`, a function of SEED and the
  iteration alone, and `resume_or_load` puts back the RNG states and the sampler's
  position, so a resumed run ends as an uninterrupted one does (on CPU, bit for bit);
- checkpoints (`VideoCheckpointer`) are strict, weights-only and atomic, and are
  written before the evaluation of their epoch (`hooks`);
- under DDP every rank evaluates and saves rank 0's BatchNorm statistics;
- SOLVER.HEADS_LR_FACTOR and MODEL.FREEZE_LAYERS "heads" reach every layer the video
  model adds to its backbone, not only a module named `heads` (`optimizer.py`);
- evaluation runs the video inference loop (the flip test of clips) and the video
  evaluator (sparse re-ranking, Rank-20) of `..evaluation`.
"""
import logging
from collections import OrderedDict

from fastreid.engine import DefaultTrainer, hooks
from fastreid.evaluation import print_csv_format
from fastreid.utils import comm

from ..data.build import build_video_test_loader, build_video_train_loader
from ..evaluation import VideoReidEvaluator, check_test_split, inference_on_dataset
from .checkpoint import VideoCheckpointer, restore_rng_states
from .hooks import BestCheckpoint, EpochCheckpointer, SyncBuffers
from .optimizer import build_video_optimizer

logger = logging.getLogger(__name__)


class VideoTrainer(DefaultTrainer):
    @classmethod
    def build_train_loader(cls, cfg):
        return build_video_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_video_test_loader(cfg, dataset_name)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_dir=None):
        data_loader, num_query = cls.build_test_loader(cfg, dataset_name)
        check_test_split(dataset_name, data_loader.dataset.img_items, num_query)
        return data_loader, VideoReidEvaluator(cfg, num_query, output_dir)

    @classmethod
    def test(cls, cfg, model):
        """fast-reid's `DefaultTrainer.test` (every DATASETS.TESTS in turn, results printed in
        csv format, one dataset's results unwrapped) with the video inference loop."""
        results = OrderedDict()
        for dataset_name in cfg.DATASETS.TESTS:
            data_loader, evaluator = cls.build_evaluator(cfg, dataset_name)
            results[dataset_name] = inference_on_dataset(model, data_loader, evaluator,
                                                         flip_test=cfg.TEST.FLIP.ENABLED)
            if comm.is_main_process():
                logger.info(f"Evaluation results for {dataset_name} in csv format:")
                results[dataset_name]["dataset"] = dataset_name
                print_csv_format(results[dataset_name])
        return next(iter(results.values())) if len(results) == 1 else results

    @classmethod
    def build_optimizer(cls, cfg, model):
        """fast-reid's optimizer, with SOLVER.HEADS_LR_FACTOR on every layer the model adds
        to its backbone (`optimizer.py`)."""
        return build_video_optimizer(cfg, model)

    def build_hooks(self):
        """fast-reid's hooks, with its PeriodicCheckpointer replaced: rank 0's buffers are
        broadcast, then the epoch's checkpoint is written, then the evaluation runs, then
        `model_best` is updated. (DefaultTrainer calls this once its checkpointer exists,
        which is replaced here by a `VideoCheckpointer` of the same checkpointables.)"""
        cfg = self.cfg
        self.checkpointer = VideoCheckpointer(
            self.model, cfg.OUTPUT_DIR, strict=cfg.MODEL.WEIGHTS_STRICT, save_to_disk=comm.is_main_process(),
            extra_state=lambda: {"seed": cfg.SEED}, **self.checkpointer.checkpointables)
        ret = [h for h in super().build_hooks() if not isinstance(h, hooks.PeriodicCheckpointer)]
        evaluation = next(i for i, h in enumerate(ret) if isinstance(h, hooks.EvalHook))
        metric = "metric" if len(cfg.DATASETS.TESTS) == 1 else f"{cfg.DATASETS.TESTS[0]}/metric"
        epochs = EpochCheckpointer(self.checkpointer, cfg.SOLVER.CHECKPOINT_PERIOD, self.max_epoch)
        before, after = [SyncBuffers()], []
        if comm.is_main_process():
            before.append(epochs)
            after.append(BestCheckpoint(self.checkpointer, epochs, metric))
        return ret[:evaluation] + before + [ret[evaluation]] + after + ret[evaluation + 1:]

    def resume_or_load(self, resume=True):
        """fast-reid's resume (model, optimizer, scheduler, epoch), then the run's RNG states
        and the training loader's position; without a checkpoint to resume, MODEL.WEIGHTS
        (if any) initialises the model, strictly unless MODEL.WEIGHTS_STRICT is False."""
        checkpoint = self.checkpointer.resume_or_load(self.cfg.MODEL.WEIGHTS, resume=resume)
        if not (resume and self.checkpointer.has_checkpoint()):
            return
        self.start_epoch = checkpoint.get("epoch", -1) + 1
        if checkpoint.get("seed", self.cfg.SEED) != self.cfg.SEED:
            raise ValueError(f"SEED {self.cfg.SEED} differs from the seed {checkpoint['seed']} of the run "
                             f"being resumed in '{self.cfg.OUTPUT_DIR}': resume with SEED {checkpoint['seed']}")
        if "rng_states" in checkpoint:
            restore_rng_states(checkpoint["rng_states"])
        self.data_loader.skip(self.start_epoch * self.iters_per_epoch)
        logger.info(f"Resumed at epoch {self.start_epoch}: RNG states and training batches restored")
