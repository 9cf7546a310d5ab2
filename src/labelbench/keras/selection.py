"""Model selection inside a Keras run: early stopping on the configured criterion, and the best epoch's weights of
every criterion the experiment records (the criteria themselves are NumPy: :mod:`labelbench.selection`).

One training run serves every criterion: each epoch the criteria are computed on the validation images and written
to the history; early stopping follows the configured one (``training.selection``); each recorded criterion keeps
the weights of the epoch it ranks best among the epochs the run trained, and at the end the test images are
predicted with each of them. Everything is rebuilt from the checkpointed history on resume, and the best weights
live in the checkpoint folder, so a resumed run stops and selects exactly where an uninterrupted one would.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from labelbench import selection as S
from labelbench.keras.state import load_state, save_state

log = logging.getLogger("labelbench.train")


class Selection:
    """Early stopping on ``driving`` after ``patience`` epochs without improvement (None: never), with the best
    weights of ``driving`` (when ``patience`` is set, as before) and of every criterion in ``recorded`` kept as
    ``best_<criterion>.weights.npz`` in ``ckpt`` (:mod:`labelbench.keras.state`); its state is replayed from
    ``history``."""

    def __init__(self, driving: str, recorded: tuple[str, ...], patience: int | None, ckpt: Path,
                 history: list[dict]):
        self.driving, self.recorded, self.patience, self.ckpt = driving, tuple(recorded), patience, Path(ckpt)
        self.kept = tuple(dict.fromkeys([*self.recorded, *([driving] if patience else [])]))
        self.best: dict[str, float | None] = {c: None for c in dict.fromkeys([driving, *self.recorded])}
        self.best_epoch: dict[str, int | None] = dict.fromkeys(self.best)
        self.wait, self.stopped = 0, False
        for row in history:
            self._step(row)

    def _step(self, row: dict) -> list[str]:
        improved = []
        for criterion in self.best:
            value = row.get(S.column(criterion), float("nan"))
            if S.better(criterion, value, self.best[criterion]):
                self.best[criterion], self.best_epoch[criterion] = value, int(row["epoch"])
                improved.append(criterion)
        if self.driving in improved:
            self.wait = 0
        else:
            self.wait += 1
            self.stopped = bool(self.patience) and self.wait >= self.patience
        return improved

    def path(self, criterion: str) -> Path:
        return self.ckpt / f"best_{criterion}.weights.npz"

    def update(self, model, row: dict) -> None:
        """Account for a finished epoch's history row; save the weights of every kept criterion it improved."""
        for criterion in self._step(row):
            if criterion in self.kept:
                self.ckpt.mkdir(parents=True, exist_ok=True)
                save_state(model, self.path(criterion), optimizer=False)

    def restore(self, model) -> None:
        """The driving criterion's best weights (early stopping keeps the best epoch)."""
        if self.path(self.driving).is_file():
            load_state(model, self.path(self.driving))
            log.info("restored the weights of the best epoch %s by %s (%s %.4f)", self.best_epoch[self.driving],
                     self.driving, S.column(self.driving), self.best[self.driving])


def measure(probs: np.ndarray, inputs: dict, labels: np.ndarray | None, criteria: tuple[str, ...]) -> dict[str, float]:
    """The history columns of ``criteria`` (besides ``val_loss``) from the model's outputs ``probs`` on the
    validation images: the complementary-only ones from ``inputs`` (the experiment's :meth:`selection_inputs`), the
    oracle from ``labels``. A criterion whose inputs the data lack is NaN (never an improvement)."""
    wanted = [c for c in criteria if c != "loss"]
    out = {}
    for criterion in wanted:
        needs_comp = criterion in S.COMPLEMENTARY and "complementary_labels" not in inputs
        if needs_comp or (criterion in S.ORACLE and labels is None):
            out[S.column(criterion)] = float("nan")
            continue
        out.update(S.criterion_values([criterion], probs, inputs.get("complementary_labels"), inputs.get("transition"),
                                      labels if criterion in S.ORACLE else None))
    return out


def selected_predictions(model, selection: Selection, images: np.ndarray, names: list[str], batch_size: int,
                         final: tuple[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Columns of the test rows: for each recorded criterion, the outputs of its best epoch's weights on ``images``
    (``final``: a criterion whose weights the model holds already, with its outputs) and that epoch's number;
    NaN where a criterion never improved. Leaves the model holding the last weights it loaded."""
    from labelbench.keras.data import predict

    out = {}
    for criterion in selection.recorded:
        if final is not None and criterion == final[0]:
            probs = final[1]
        elif selection.path(criterion).is_file():
            load_state(model, selection.path(criterion))
            probs = predict(model, images, batch_size)
        else:
            probs = np.full((len(images), len(names)), np.nan)
        epoch = selection.best_epoch[criterion]
        out[S.selected_column(criterion, "epoch")] = np.full(len(images), np.nan if epoch is None else epoch)
        for k, name in enumerate(names):
            out[S.selected_column(criterion, name)] = probs[:, k]
    return out
