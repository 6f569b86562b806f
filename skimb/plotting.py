"""Figures for imbalanced classification: class shares per epoch, confusion matrix, history,
precision-recall.

Four functions and two displays, each drawing on a matplotlib ``Axes`` (a new figure when
``ax`` is None) and returning it:

* :func:`plot_class_distribution` — the class proportions of ``y`` beside the
  proportions each of the first epochs of a sampler draws (the "before/after"
  figures of epoch-level sampling);
* :func:`plot_confusion_matrix` — counts or normalised rates with the original
  labels on the axes;
* :func:`plot_history` — training/validation loss and validation macro-F1 per
  epoch of a fitted :class:`~skimb.ImbalancedTorchClassifier`;
* :func:`plot_precision_recall` — per-class precision-recall curves with the
  operating points of ``argmax`` and of chosen decision offsets;
* :class:`PerClassF1Display` — the F1 of every class for one model or several
  (``from_predictions``, ``from_estimator``);
* :class:`StrategyComparisonDisplay` — the settings of a search ranked by
  their cross-validated score, with each fold's (``from_cv_results``,
  ``from_estimator``).

matplotlib is an optional dependency (``pip install skimb[plots]``); it is
imported only when one of these functions is called, so ``import skimb`` does
not need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import unique_labels

from ._inputs.labels import encode_labels
from ._inputs.tables import check_features
from .samplers import make_sampler

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["PerClassF1Display", "StrategyComparisonDisplay", "plot_class_distribution",
           "plot_confusion_matrix", "plot_history", "plot_precision_recall"]

_NORMALIZE = (None, "true", "pred", "all")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skimb.plotting needs matplotlib: pip install 'skimb[plots]' "
            "(or pip install matplotlib)."
        ) from exc
    return plt


def _new_axes(figsize):
    plt = _pyplot()
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _label_texts(labels) -> list[str]:
    return [str(label) for label in labels]


def _tick_rotation(texts: list[str]) -> float:
    """Rotate tick labels when they are long or many, so they do not collide."""
    longest = max((len(t) for t in texts), default=0)
    if longest * len(texts) > 48 or longest > 10:
        return 35.0
    return 0.0


def _check_positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


# -- class distribution per epoch ------------------------------------------------


def _encode(y):
    if y is None:
        raise ValueError("y is required: the labels whose class proportions are plotted.")
    if len(y) == 0:
        raise ValueError("y is empty: there are no labels to plot.")
    return encode_labels(y, len(y))


def _sampler_name(spec, strategy) -> str:
    """The name the user gave (``"none"`` for None), or the sampler's display name."""
    if spec is None or isinstance(spec, str):
        return spec or "none"
    return strategy.display_name


def plot_class_distribution(
    y,
    sampler: Any = "none",
    n_epochs: int = 3,
    batch_size: int = 256,
    random_state: int | np.random.RandomState | None = 0,
    ax: Axes | None = None,
    *,
    X=None,
    **sampler_params,
) -> Axes:
    """Bar chart of the class proportions of ``y`` and of the epochs a sampler draws.

    For every class (in sorted order, as in the classifier's ``classes_``) the
    first bar is its share of ``y``; the next ``n_epochs`` bars are its share of
    each epoch the sampler draws from ``y``, re-drawn every epoch exactly as
    :class:`~skimb.ImbalancedTorchClassifier` does during ``fit``. The legend
    gives the number of rows of ``y`` and of every epoch; a dotted line marks
    the class-balanced share ``1 / n_classes``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels of any hashable kind (strings, ints, pandas categoricals).
    sampler : str, BaseSampler or imblearn sampler, default="none"
        Anything ``ImbalancedTorchClassifier(sampler=...)`` accepts: a name
        from :func:`~skimb.list_samplers`, a skimb sampler object, or an
        imbalanced-learn sampler instance (which then needs ``X``).
    n_epochs : int, default=3
        How many epochs to draw and plot. Samplers with a schedule
        (``"progressive"``) spread it over these epochs unless
        ``sampler__n_epochs`` says otherwise.
    batch_size : int, default=256
        Batch size passed to the sampler (``"balanced_batch"`` uses it).
    random_state : int, RandomState or None, default=0
        Seeds the draws; ``None`` draws differently at every call.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure is created.
    X : array-like of shape (n_samples, n_features), optional
        Features; required with an imbalanced-learn sampler (SMOTE and friends
        build rows from them), ignored otherwise.
    **sampler_params
        Sampler hyper-parameters, with or without the ``sampler__`` prefix the
        classifier uses (``max_per_class=50`` or ``sampler__max_per_class=50``).
        Write ``sampler__n_epochs`` for the sampler's own ``n_epochs``.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on. ``ax.containers[0]`` holds the bars of ``y``,
        ``ax.containers[k]`` those of epoch ``k``.

    Raises
    ------
    ValueError
        If ``y`` is empty or not a single-label target, the sampler name is
        unknown, ``n_epochs`` or ``batch_size`` is not a positive integer, or
        an imbalanced-learn sampler is given without ``X`` (or with ``X`` of
        another length).

    See Also
    --------
    skimb.list_samplers : The sampler names.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skimb.plotting import plot_class_distribution
    >>> y = ["Dry"] * 62 + ["Wet"] * 20 + ["Ice Watch"] * 15 + ["Frost"] * 3
    >>> ax = plot_class_distribution(y, sampler="under", n_epochs=2)
    >>> [round(float(bar.get_height()), 2) for bar in ax.containers[1]]
    [0.25, 0.25, 0.25, 0.25]
    >>> ax.containers[1].get_label()
    'epoch 1 (n=12)'
    >>> plt.close(ax.figure)
    """
    n_epochs = _check_positive_int(n_epochs, "n_epochs")
    batch_size = _check_positive_int(batch_size, "batch_size")
    classes, y_encoded = _encode(y)
    n_classes = len(classes)
    params = {key.removeprefix("sampler__"): value for key, value in sampler_params.items()}
    strategy = make_sampler(sampler, params)
    if not strategy.draws_indices:
        if X is None:
            raise ValueError(
                f"sampler={_sampler_name(sampler, strategy)} is an imbalanced-learn sampler: it "
                "builds each epoch from the features, so pass them as X=."
            )
        X = check_features(BaseEstimator(), X, reset=True)
        if len(X) != len(y_encoded):
            raise ValueError(
                f"X has {len(X)} rows but y has {len(y_encoded)}; they must match."
            )
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    epoch_counts = strategy.epoch_class_counts(
        y_encoded, n_classes, n_epochs, batch_size, torch.Generator().manual_seed(seed), X=X)
    data_counts = np.bincount(y_encoded, minlength=n_classes)

    groups = [("data", data_counts)] + [
        (f"epoch {k + 1}", counts) for k, counts in enumerate(epoch_counts)
    ]
    texts = _label_texts(classes)
    if ax is None:
        # Room for the bars plus the legend outside on the right.
        width = 3.2 + n_classes * (0.35 + 0.14 * len(groups))
        ax = _new_axes((min(max(8.0, width), 20.0), 4.4))

    from matplotlib import colormaps
    from matplotlib.ticker import PercentFormatter

    x = np.arange(n_classes)
    bar_width = 0.84 / len(groups)
    palette = colormaps["viridis"](np.linspace(0.2, 0.85, max(n_epochs, 1)))
    for k, (name, counts) in enumerate(groups):
        total = int(counts.sum())
        shares = counts / total if total else np.zeros(n_classes)
        color = "0.55" if k == 0 else palette[k - 1]
        ax.bar(
            x + (k - (len(groups) - 1) / 2) * bar_width, shares, bar_width,
            label=f"{name} (n={total:,})", color=color,
            edgecolor="white", linewidth=0.5,
        )
    ax.axhline(1.0 / n_classes, color="0.2", linestyle=":", linewidth=1,
               label=f"balanced (1/{n_classes})")
    rotation = _tick_rotation(texts)
    ax.set_xticks(x, texts, rotation=rotation, ha="right" if rotation else "center",
                  rotation_mode="anchor" if rotation else "default")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylim(0, min(1.0, ax.get_ylim()[1] * 1.08))
    ax.set_xlabel("class")
    ax.set_ylabel("share of rows")
    name = _sampler_name(sampler, strategy)
    drawn_by = f"sampler={name!r}" if sampler is None or isinstance(sampler, str) else name
    ax.set_title(f"Class proportions: data vs. epochs drawn by {drawn_by}")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles, legend_labels = ax.get_legend_handles_labels()
    # Bars first (data, then epochs), the balanced line last; outside the axes
    # so the legend never hides a tall bar.
    order = sorted(range(len(handles)), key=lambda i: legend_labels[i].startswith("balanced"))
    ax.legend([handles[i] for i in order], [legend_labels[i] for i in order],
              fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    return ax


# -- confusion matrix -----------------------------------------------------------------


def plot_confusion_matrix(
    y_true,
    y_pred,
    labels=None,
    normalize: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Confusion matrix with the original labels on the axes.

    Rows are true classes, columns predicted ones (scikit-learn's convention).
    Drawn with :class:`sklearn.metrics.ConfusionMatrixDisplay`; cells hold
    counts, or rates when ``normalize`` is set.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, e.g. ``clf.predict(X)``.
    labels : array-like, optional
        Classes to show, in this order; by default every label of ``y_true``
        and ``y_pred``, sorted.
    normalize : {None, "true", "pred", "all"}, default=None
        As in :func:`sklearn.metrics.confusion_matrix`: ``"true"`` divides each
        row by its total (the diagonal is per-class recall), ``"pred"`` each
        column (the diagonal is per-class precision), ``"all"`` everything by
        the number of rows.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure is created.

    Returns
    -------
    ax : matplotlib Axes
        ``ax.images[0].get_array()`` holds the matrix drawn.

    Raises
    ------
    ValueError
        If ``normalize`` is not one of the allowed values, or ``y_true`` /
        ``y_pred`` are empty or of different lengths.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skimb.plotting import plot_confusion_matrix
    >>> y_true = ["Dry", "Dry", "Dry", "Frost", "Wet", "Wet"]
    >>> y_pred = ["Dry", "Dry", "Wet", "Dry", "Wet", "Wet"]
    >>> ax = plot_confusion_matrix(y_true, y_pred, normalize="true")
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['Dry', 'Frost', 'Wet']
    >>> ax.images[0].get_array()[0].round(2).tolist()
    [0.67, 0.0, 0.33]
    >>> plt.close(ax.figure)
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    if normalize not in _NORMALIZE:
        raise ValueError(
            f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}."
        )
    y_true = _as_label_array(y_true, "y_true")
    y_pred = _as_label_array(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}; they must match."
        )
    shown = unique_labels(y_true, y_pred) if labels is None else np.asarray(labels)
    if len(shown) == 0:
        raise ValueError("labels is empty: there is no class to show.")
    texts = _label_texts(shown)
    n_classes = len(texts)
    if ax is None:
        side = min(max(5.0, 2.6 + 0.75 * n_classes), 16.0)
        ax = _new_axes((side + 1.0, side))
    rotation = _tick_rotation(texts)
    fontsize = max(6.0, min(10.0, 120.0 / max(n_classes, 1)))
    display = ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, normalize=normalize, display_labels=texts,
        ax=ax, cmap="Blues", colorbar=True, xticks_rotation=rotation,
        values_format=".2f" if normalize else "d", text_kw={"fontsize": fontsize},
    )
    if rotation:
        ax.set_xticks(ax.get_xticks(), texts, rotation=rotation, ha="right",
                      rotation_mode="anchor")
    title = {
        None: "Confusion matrix (counts)",
        "true": "Confusion matrix (rows normalised: recall on the diagonal)",
        "pred": "Confusion matrix (columns normalised: precision on the diagonal)",
        "all": "Confusion matrix (share of all rows)",
    }[normalize]
    ax.set_title(title, fontsize="medium")
    return display.ax_


def _as_label_array(y, name):
    if y is None:
        raise ValueError(f"{name} is required.")
    if isinstance(y, pd.Series) and isinstance(y.dtype, pd.CategoricalDtype):
        y = y.astype(object)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D labels; got an array of shape {y.shape}.")
    if len(y) == 0:
        raise ValueError(f"{name} is empty: there are no labels to count.")
    return y


# -- training history -----------------------------------------------------------------


def _history_of(clf):
    history = clf if isinstance(clf, list) else getattr(clf, "history", None)
    if not history or not any("train_loss" in row for row in history):
        name = type(clf).__name__
        raise NotFittedError(
            f"This {name} has no training history yet: call fit before plot_history."
        )
    return history


def _series(history, key):
    points = [(row["epoch"], row[key]) for row in history
              if key in row and row[key] is not None]
    epochs = np.array([p[0] for p in points], dtype=float)
    values = np.array([p[1] for p in points], dtype=float)
    return epochs, values


def plot_history(clf, ax: Axes | None = None) -> Axes:
    """Loss and validation macro-F1 per epoch of a fitted classifier.

    Draws ``train_loss`` and, when the fit had a validation split,
    ``valid_loss`` on ``ax`` (left axis), and ``valid_f1_macro`` on a twin
    axis on the right (0 to 1), with its best epoch starred. Without a
    validation split (``train_split=None``) only the training loss is drawn.

    Parameters
    ----------
    clf : ImbalancedTorchClassifier or skorch History
        A fitted classifier (any skorch net), or its ``history``.
    ax : matplotlib Axes, optional
        Where to draw the losses; by default a new figure is created.

    Returns
    -------
    ax : matplotlib Axes
        The loss axes: ``ax.lines`` are the loss curves, one point per epoch.
        The macro-F1 axes, when drawn, is ``ax.right_ax``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        (a ``ValueError``) if ``clf`` has not been fitted.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import make_classification
    >>> from skimb import ImbalancedTorchClassifier
    >>> from skorch.dataset import ValidSplit
    >>> from skimb.plotting import plot_history
    >>> X, y = make_classification(n_samples=300, weights=[0.8], random_state=0)
    >>> clf = ImbalancedTorchClassifier(max_epochs=4, device="cpu", random_state=0,
    ...                                 train_split=ValidSplit(5, stratified=True)).fit(X, y)
    >>> ax = plot_history(clf)
    >>> [(line.get_label(), len(line.get_xdata())) for line in ax.lines]
    [('train loss', 4), ('valid loss', 4)]
    >>> ax.right_ax.lines[0].get_label()
    'valid macro-F1'
    >>> plt.close(ax.figure)
    """
    history = _history_of(clf)
    if ax is None:
        ax = _new_axes((7.0, 4.2))

    from matplotlib.ticker import MaxNLocator

    n_epochs = len(history)
    marker = "o" if n_epochs <= 30 else None
    handles = []
    for key, label, color in (("train_loss", "train loss", "C0"),
                              ("valid_loss", "valid loss", "C1")):
        epochs, values = _series(history, key)
        if len(values):
            (line,) = ax.plot(epochs, values, color=color, marker=marker, markersize=4,
                              label=label)
            handles.append(line)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)

    epochs, f1 = _series(history, "valid_f1_macro")
    if len(f1):
        twin = ax.twinx()
        (line,) = twin.plot(epochs, f1, color="C2", linestyle="--", marker=marker,
                            markersize=4, label="valid macro-F1")
        handles.append(line)
        best = int(np.argmax(f1))
        star = twin.scatter([epochs[best]], [f1[best]], marker="*", s=160, color="C2",
                            edgecolor="black", linewidth=0.6, zorder=3,
                            label=f"best macro-F1 {f1[best]:.3f} (epoch {int(epochs[best])})")
        handles.append(star)
        twin.set_ylim(0.0, 1.02)
        twin.set_ylabel("validation macro-F1")
        ax.right_ax = twin
    ax.set_title("Training history")
    # Below the axes: curves can run anywhere inside them.
    ax.legend(handles=handles, fontsize="small", loc="upper center",
              bbox_to_anchor=(0.5, -0.14), ncol=min(len(handles), 4), frameon=False)
    return ax


# -- precision-recall with operating points ---------------------------------------------


def _operating_point(y_true, decided, c):
    predicted, actual = decided == c, y_true == c
    tp = np.sum(predicted & actual)
    precision = tp / predicted.sum() if predicted.any() else 1.0
    return tp / max(actual.sum(), 1), precision


def plot_precision_recall(y_true, proba, classes=None, offsets=None,
                          ax: Axes | None = None) -> Axes:
    """Per-class precision-recall curves, with the decisions' operating points marked.

    Each class's curve is one-vs-rest over its probability column
    (:func:`sklearn.metrics.precision_recall_curve`). On it, a circle marks
    the (recall, precision) that ``argmax`` gives the class, and, with
    ``offsets``, a star marks the point of ``argmax(log proba + offsets)``
    (e.g. ``clf.decision_offsets_`` or ``TunedDecisionClassifierCV.offsets_``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, e.g. ``clf.predict_proba(X)``.
    classes : array-like of shape (n_classes,), optional
        Label of each column of ``proba``; by default the sorted labels of
        ``y_true`` (which must then hold every class).
    offsets : array-like of shape (n_classes,), optional
        Decision offsets whose operating points to mark.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure is created.

    Returns
    -------
    ax : matplotlib Axes
        ``ax.lines`` holds one curve per class with at least one true row,
        labelled by the class.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skimb.plotting import plot_precision_recall
    >>> proba = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]])
    >>> ax = plot_precision_recall(["a", "b", "b", "a"], proba, offsets=[0.0, 0.5])
    >>> [line.get_label() for line in ax.lines]
    ['a', 'b']
    >>> plt.close(ax.figure)
    """
    from sklearn.metrics import precision_recall_curve

    from .decisions import decide

    y_true = _as_label_array(y_true, "y_true")
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or len(proba) != len(y_true):
        raise ValueError(
            f"proba must have shape (n_samples, n_classes) with {len(y_true)} rows like "
            f"y_true; got {proba.shape}."
        )
    classes = unique_labels(y_true) if classes is None else np.asarray(classes)
    if len(classes) != proba.shape[1]:
        raise ValueError(f"proba has {proba.shape[1]} columns but there are {len(classes)} "
                         "classes; pass classes= with the label of each column.")
    unknown = ~np.isin(y_true, classes)
    if unknown.any():
        raise ValueError(f"y_true holds labels not in classes: {np.unique(y_true[unknown])[:5]}.")
    if offsets is not None:
        offsets = np.asarray(offsets, dtype=np.float64)
        if offsets.shape != (len(classes),):
            raise ValueError(f"offsets must have shape ({len(classes)},); got {offsets.shape}.")
    if ax is None:
        ax = _new_axes((6.5, 5.0))
    chosen = {"argmax": classes[proba.argmax(axis=1)]}
    if offsets is not None:
        chosen["offsets"] = classes[decide(proba, offsets)]
    for j, c in enumerate(classes):
        actual = y_true == c
        if not actual.any():
            continue
        precision, recall, _ = precision_recall_curve(actual, proba[:, j])
        (line,) = ax.plot(recall, precision, drawstyle="steps-post", label=str(c))
        for name, decided in chosen.items():
            r, p = _operating_point(y_true, decided, c)
            ax.scatter([r], [p], marker="o" if name == "argmax" else "*",
                       s=40 if name == "argmax" else 150, color=line.get_color(),
                       edgecolor="black", linewidth=0.6, zorder=3)
    from matplotlib.lines import Line2D

    markers = [Line2D([], [], marker="o", linestyle="", color="grey", label="argmax")]
    if offsets is not None:
        markers.append(Line2D([], [], marker="*", markersize=12, linestyle="", color="grey",
                              label="with offsets"))
    ax.legend(handles=ax.get_lines() + markers, fontsize="small", loc="lower left")
    ax.set_xlim(0.0, 1.02)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall per class (one vs rest)")
    ax.grid(alpha=0.3)
    return ax


# -- per-class F1 and strategy comparison ------------------------------------------


def _scorer_name(estimator) -> str:
    """A short name for an estimator (its class, or its sampler + loss for skimb's)."""
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if hasattr(final, "sampler") and hasattr(final, "loss"):
        return f"{final.sampler} + {final.loss}"
    return type(final).__name__


class PerClassF1Display:
    """F1 of every class for one model or several, as horizontal bars.

    Build it with :meth:`from_predictions` or :meth:`from_estimator` (as
    scikit-learn's displays are built); the class's number of true rows is
    shown beside its name, since the F1 of a class of a few rows is noisy.

    Parameters
    ----------
    f1 : DataFrame of shape (n_classes, n_models)
        F1 per class (rows) and model (columns, their names).
    support : Series of shape (n_classes,)
        True rows of every class.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Where :meth:`plot` drew: ``ax_.containers`` holds one bar container
        per model, labelled by its name.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skimb.plotting import PerClassF1Display
    >>> y_true = ["Dry", "Dry", "Dry", "Frost", "Wet", "Wet"]
    >>> display = PerClassF1Display.from_predictions(
    ...     y_true, {"plain": ["Dry", "Dry", "Wet", "Dry", "Wet", "Wet"],
    ...              "balanced": ["Dry", "Dry", "Frost", "Frost", "Wet", "Wet"]})
    >>> display.f1.round(2)["balanced"].tolist()
    [0.8, 0.67, 1.0]
    >>> [c.get_label() for c in display.ax_.containers]
    ['plain', 'balanced']
    >>> plt.close(display.figure_)
    """

    def __init__(self, f1: pd.DataFrame, support: pd.Series):
        self.f1 = f1
        self.support = support

    def plot(self, ax: Axes | None = None) -> PerClassF1Display:
        """Draw on ``ax`` (a new figure when None); return the display."""
        n_classes, n_models = self.f1.shape
        if ax is None:
            ax = _new_axes((7.0, min(16.0, 1.2 + n_classes * (0.35 + 0.18 * n_models))))
        height = 0.8 / n_models
        rows = np.arange(n_classes)
        for j, name in enumerate(self.f1.columns):
            ax.barh(rows + (j - (n_models - 1) / 2) * height, self.f1[name], height=height,
                    label=str(name))
        ax.set_yticks(rows, [f"{c} ({n})" for c, n in zip(self.f1.index, self.support)])
        ax.invert_yaxis()  # the first class on top
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("F1")
        ax.set_title("F1 per class (true rows in brackets)", fontsize="medium")
        ax.grid(axis="x", alpha=0.3)
        if n_models > 1:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      borderaxespad=0.0)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, labels=None,
                         ax: Axes | None = None) -> PerClassF1Display:
        """Plot the F1 of every class of predictions against true labels.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,), or mapping of name to such arrays
            Predicted labels of one model, or of several (one bar each per class).
        labels : array-like, optional
            Classes to show, in this order; by default every label of ``y_true``
            and the predictions, sorted.
        ax : matplotlib Axes, optional
            Where to draw; by default a new figure is created.

        Returns
        -------
        display : PerClassF1Display
        """
        from sklearn.metrics import f1_score

        y_true = _as_label_array(y_true, "y_true")
        models = dict(y_pred) if isinstance(y_pred, dict) else {"model": y_pred}
        if not models:
            raise ValueError("y_pred is an empty mapping: there is no model to plot.")
        models = {name: _as_label_array(pred, f"y_pred[{name!r}]")
                  for name, pred in models.items()}
        for name, pred in models.items():
            if len(pred) != len(y_true):
                raise ValueError(f"y_pred[{name!r}] has {len(pred)} labels but y_true has "
                                 f"{len(y_true)}; they must match.")
        shown = unique_labels(y_true, *models.values()) if labels is None else np.asarray(labels)
        f1 = pd.DataFrame({name: f1_score(y_true, pred, labels=shown, average=None,
                                          zero_division=0)
                           for name, pred in models.items()},
                          index=pd.Index(_label_texts(shown), name="class"))
        support = pd.Series([int(np.sum(y_true == c)) for c in shown], index=f1.index)
        return cls(f1, support).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, labels=None, name: str | None = None,
                       ax: Axes | None = None) -> PerClassF1Display:
        """Plot the F1 of every class of a fitted classifier's predictions on ``X``.

        Parameters
        ----------
        estimator : fitted classifier
            Any classifier with ``predict`` (a pipeline too).
        X : array-like or DataFrame
            The rows to predict.
        y : array-like of shape (n_samples,)
            Their true labels.
        labels : array-like, optional
            Classes to show, in this order.
        name : str, optional
            The model's name in the legend; by default its sampler and loss, or
            its class name.
        ax : matplotlib Axes, optional
            Where to draw; by default a new figure is created.

        Returns
        -------
        display : PerClassF1Display
        """
        name = _scorer_name(estimator) if name is None else name
        return cls.from_predictions(y, {name: estimator.predict(X)}, labels=labels, ax=ax)


class StrategyComparisonDisplay:
    """Cross-validated scores of the settings of a search, best first, with their spread.

    One horizontal bar per setting: its mean score over the folds, with the
    standard deviation as an error bar, and each fold's score as a dot; with
    ``test`` scores, a diamond marks the held-out score. Build it with
    :meth:`from_estimator` (a fitted ``GridSearchCV``) or
    :meth:`from_cv_results` (its ``cv_results_``).

    Parameters
    ----------
    scores : DataFrame
        One row per setting, indexed by its name, best first: ``mean``,
        ``std``, the folds' scores ``split0``, ``split1``, ... and optionally
        ``test``.
    scoring : str, default="score"
        What the scores are, for the axis label.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Where :meth:`plot` drew: ``ax_.patches`` holds the bars, best on top.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skimb.plotting import StrategyComparisonDisplay
    >>> cv_results = {"params": [{"loss": "ce"}, {"loss": "focal"}],
    ...               "mean_test_score": [0.61, 0.66], "std_test_score": [0.02, 0.03],
    ...               "split0_test_score": [0.59, 0.63], "split1_test_score": [0.63, 0.69]}
    >>> display = StrategyComparisonDisplay.from_cv_results(cv_results, scoring="macro-F1")
    >>> display.scores.index.tolist()
    ['loss=focal', 'loss=ce']
    >>> [round(float(bar.get_width()), 2) for bar in display.ax_.patches]
    [0.66, 0.61]
    >>> plt.close(display.figure_)
    """

    def __init__(self, scores: pd.DataFrame, scoring: str = "score"):
        self.scores = scores
        self.scoring = scoring

    def plot(self, ax: Axes | None = None) -> StrategyComparisonDisplay:
        """Draw on ``ax`` (a new figure when None); return the display."""
        n = len(self.scores)
        if ax is None:
            ax = _new_axes((8.0, min(16.0, 1.4 + 0.45 * n)))
        rows = np.arange(n)
        ax.barh(rows, self.scores["mean"], xerr=self.scores["std"], color="tab:blue", alpha=0.6,
                error_kw={"capsize": 3}, label="CV mean ± std")
        folds = [c for c in self.scores if c.startswith("split")]
        for k, column in enumerate(folds):
            ax.scatter(self.scores[column], rows, s=12, color="black", zorder=3,
                       label="each fold" if k == 0 else None)
        if "test" in self.scores:
            ax.scatter(self.scores["test"], rows, marker="D", s=36, color="tab:red", zorder=4,
                       label="held-out test")
        ax.set_yticks(rows, [str(name) for name in self.scores.index])
        ax.invert_yaxis()  # the best on top
        ax.set_xlim(0.0, 1.0 if self.scores.drop(columns="std").max().max() <= 1 else None)
        ax.set_xlabel(self.scoring)
        ax.set_title(f"Settings ranked by cross-validated {self.scoring}", fontsize="medium")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_cv_results(cls, cv_results, *, names=None, test=None, scoring: str = "score",
                        ax: Axes | None = None) -> StrategyComparisonDisplay:
        """Plot the settings of a search's ``cv_results_``.

        Parameters
        ----------
        cv_results : dict
            ``GridSearchCV.cv_results_`` (or any search's), of a single metric.
        names : list of str, optional
            A name per setting, in the order of ``cv_results["params"]``; by
            default ``"key=value, ..."`` of its parameters.
        test : array-like, optional
            A held-out score per setting, in the same order.
        scoring : str, default="score"
            What the scores are, for the axis label.
        ax : matplotlib Axes, optional
            Where to draw; by default a new figure is created.

        Returns
        -------
        display : StrategyComparisonDisplay
        """
        if "mean_test_score" not in cv_results:
            raise ValueError("cv_results has no 'mean_test_score': pass the cv_results_ of a "
                             "search with a single scoring.")
        params = cv_results["params"]
        if names is None:
            names = [", ".join(f"{k}={v}" for k, v in p.items()) for p in params]
        if len(names) != len(params):
            raise ValueError(f"names has {len(names)} entries for {len(params)} settings.")
        scores = pd.DataFrame({"mean": cv_results["mean_test_score"],
                               "std": cv_results["std_test_score"]},
                              index=pd.Index(list(names), name="setting"))
        for key in sorted(k for k in cv_results if k.startswith("split")
                          and k.endswith("_test_score")):
            scores[key.removesuffix("_test_score")] = np.asarray(cv_results[key])
        if test is not None:
            scores["test"] = np.asarray(test, dtype=np.float64)
        scores = scores.sort_values("mean", ascending=False, kind="stable")
        return cls(scores, scoring).plot(ax=ax)

    @classmethod
    def from_estimator(cls, search, *, names=None, scoring: str | None = None,
                       ax: Axes | None = None) -> StrategyComparisonDisplay:
        """Plot the settings of a fitted search (``GridSearchCV``, ``RandomizedSearchCV``).

        Parameters
        ----------
        search : fitted search estimator
            With ``cv_results_`` of a single metric.
        names : list of str, optional
            A name per setting, as in :meth:`from_cv_results`.
        scoring : str, optional
            The axis label; by default the search's ``scoring`` when it is a
            string, else ``"score"``.
        ax : matplotlib Axes, optional
            Where to draw; by default a new figure is created.

        Returns
        -------
        display : StrategyComparisonDisplay
        """
        if not hasattr(search, "cv_results_"):
            raise NotFittedError("search has no cv_results_: fit it first.")
        if scoring is None:
            scoring = search.scoring if isinstance(search.scoring, str) else "score"
        return cls.from_cv_results(search.cv_results_, names=names, scoring=scoring, ax=ax)
