"""``RNNRegressor``: a scikit-learn regressor over a PyTorch RNN, LSTM or GRU.

Over 600 lines on purpose: the regressor, its job (:class:`WindowsJob`, its epochs as a job of
the executor) and its codec (:func:`network_state`, :func:`restore_network`, shared by
pickling and model files) go by one list of fitted names (:data:`FITTED`), and stay in one
module so that they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import math
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ._train.device import resolve_device, seeded, torch_threads
from ._train.executor import fit_jobs
from ._train.loop import (
    LOSSES,
    OPTIMIZERS,
    BatchSampler,
    Member,
    Sync,
    predict_batches,
    train,
    train_members,
)
from ._train.progress import epoch_bar, step_bar
from .errors import DataError, NotFittedError, ParameterError, check_params
from .nn import CELLS, RNNNet

__all__ = ["RNNRegressor", "WindowsJob", "fit_steps", "network_state", "restore_network"]

#: Everything ``fit`` learns, the one list that resetting, adopting a fit made elsewhere,
#: pickling and model files (:func:`network_state`) go by.
FITTED = (
    "module_", "optimizer_", "loss_fn_", "device_", "seed_", "history_", "n_iter_",
    "n_features_in_", "n_channels_in_", "n_outputs_", "feature_names_in_", "_y_1d",
)  # fmt: skip


class RNNRegressor(RegressorMixin, BaseEstimator):
    """Recurrent neural network regressor: windows of a series in, the next values out.

    Each row of ``X`` is one window (a sequence of ``n_steps`` time steps); an Elman RNN, LSTM
    or GRU reads it and a linear head maps the last hidden state to the target(s). Trained by
    backpropagation through time with mini-batches; inside :func:`tsrnn.train_on_dask`, on a
    Dask cluster, data-parallel over its workers.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default="lstm"
        Recurrent cell.
    hidden_size : int, default=32
        Units of the hidden state.
    num_layers : int, default=1
        Stacked recurrent layers.
    dropout : float, default=0.0
        Dropout between stacked layers and before the head, in ``[0, 1)``.
    nonlinearity : {"tanh", "relu"}, default="tanh"
        Activation of the Elman RNN (``cell="rnn"``); ignored by LSTM and GRU.
    categorical : list of (list of int, int) or None, default=None
        Channels of ``X`` that hold integer codes of a categorical variable, read through a
        learned embedding (:class:`tsrnn.nn.RNNNet`): one entry ``(channels, n_categories)``
        per variable, codes 1 to ``n_categories`` for its known values and 0 for a value
        never seen in fit (it reads the centroid of the known embeddings).
    optimizer : {"adam", "rmsprop", "sgd"}, default="adam"
    learning_rate : float, default=1e-3
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.
    epochs : int, default=50
        Passes over the training windows per call of ``fit`` (and of ``partial_fit``).
    batch_size : int, default=32
    loss : {"mse", "mae", "huber"}, default="mse"
    clip_grad_norm : float or None, default=None
        Clip the global gradient norm before each step (guards against exploding gradients).
    validation_fraction : float or None, default=None
        Fraction of the rows, taken from the *end* of ``X`` (the most recent windows when rows are
        in time order), held out to measure a validation loss after each epoch. The weights of
        the best epoch are restored at the end of training.
    patience : int or None, default=None
        Stop after this many epochs without a lower validation loss. Needs
        ``validation_fraction``.
    device : str, default="auto"
        ``"auto"`` trains on CUDA when a GPU is visible, else on the CPU; or ``"cpu"``,
        ``"cuda"``, ``"cuda:N"``.
    n_threads : int or None, default=1
        Torch intra-op threads during ``fit`` and ``predict``; the previous global setting is
        restored afterwards. ``None`` uses torch's global setting as it is. One thread is the
        default because torch's OpenMP threads spin-wait for each other: with two threads on two
        cores, training slowed several-fold as soon as another process took a core
        (``benchmarks/train_speed.py`` measures both). On a quiet machine with cores to spare,
        more threads can train faster.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and the shuffling of windows. The same seed and
        data give the same predictions on the same CPU.
    verbose : int, default=0
        ``1`` shows a progress bar with the losses of each epoch.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted model continues from its weights instead of starting anew.

    Attributes
    ----------
    module_ : tsrnn.nn.RNNNet
        The trained network.
    optimizer_ : torch.optim.Optimizer
        Its optimizer, kept so that ``partial_fit`` continues where training stopped.
    history_ : list of dict
        ``{"epoch", "train_loss", "valid_loss"}`` for every epoch trained, appended as each
        epoch ends (so it also shows the epochs before a ``TrainingError``). A network that
        :class:`~tsrnn.RNNForecaster` trained on a budget of gradient steps holds
        ``{"step", "train_loss", "valid_loss"}`` records instead: the mean training loss of
        every 100 steps (``valid_loss`` None).
    n_iter_ : int
        Epochs trained so far (steps, for a network trained on a step budget).
    n_features_in_ : int
        Time steps per window (the second dimension of ``X``).
    n_channels_in_ : int
        Channels per time step (1 for 2-D ``X``).
    n_outputs_ : int
        Values predicted per row (columns of ``y``, 1 for 1-D ``y``).
    device_ : torch.device
        Where the network lives.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import RNNRegressor, make_windows
    >>> series = np.sin(np.arange(300) / 6)
    >>> X, y = make_windows(series, lookback=12)
    >>> model = RNNRegressor(cell="gru", hidden_size=16, epochs=5, random_state=0).fit(X, y)
    >>> model.predict(X[-2:]).shape
    (2,)

    Notes
    -----
    :class:`~tsrnn.RNNForecaster` reaches its networks through a small documented internal
    interface, and through nothing else: :meth:`_fit_steps` trains a new network on batches
    the forecaster draws itself (:func:`fit_steps` trains several in lockstep, as the ranks of
    a fit on a Dask dataset do), and :meth:`_predict_tensor` runs it on inputs it has encoded.
    """

    _parameter_constraints: ClassVar[dict] = {
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "nonlinearity": [StrOptions({"tanh", "relu"})],
        "categorical": [list, tuple, None],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(LOSSES))],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        cell: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        categorical: list | None = None,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        epochs: int = 50,
        batch_size: int = 32,
        loss: str = "mse",
        clip_grad_norm: float | None = None,
        validation_fraction: float | None = None,
        patience: int | None = None,
        device: str = "auto",
        n_threads: int | None = 1,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.nonlinearity = nonlinearity
        self.categorical = categorical
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.loss = loss
        self.clip_grad_norm = clip_grad_norm
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------------ sklearn API

    def fit(self, X: np.ndarray, y: np.ndarray) -> RNNRegressor:
        """Train a new network on windows ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_steps) or (n_samples, n_steps, n_channels)
            One window per row; 2-D input is a univariate sequence per row.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target(s) of each window, e.g. the next ``horizon`` values.

        Returns
        -------
        self : RNNRegressor
        """
        if not (self.warm_start and self._is_fitted()):
            self._reset()
        return self.partial_fit(X, y)

    def partial_fit(self, X: np.ndarray, y: np.ndarray, epochs: int | None = None) -> RNNRegressor:
        """Train the same network for ``epochs`` more epochs (``self.epochs`` by default).

        The first call builds the network; later calls continue with its weights and optimizer
        state, so epochs act as a budget that successive-halving search can hand out.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_steps) or (n_samples, n_steps, n_channels)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        epochs : int or None, default=None
            Epochs for this call; ``None`` means ``self.epochs``.

        Returns
        -------
        self : RNNRegressor
        """
        self._check_params()
        first_call = not self._is_fitted()
        X_t, y_t = self._validate_fit_data(X, y, reset=first_call)
        if first_call:
            self._initialize(n_channels=X_t.shape[2], n_outputs=y_t.shape[1])
        valid = None
        if self.validation_fraction is not None:
            n_valid = round(len(X_t) * self.validation_fraction)
            if n_valid < 1 or n_valid >= len(X_t):
                raise DataError(
                    f"validation_fraction={self.validation_fraction} of {len(X_t)} rows leaves "
                    f"{n_valid} validation rows and {len(X_t) - n_valid} training rows; both need "
                    "at least one: pass more data or change validation_fraction."
                )
            X_t, valid = X_t[:-n_valid], (X_t[-n_valid:], y_t[-n_valid:])
            y_t = y_t[:-n_valid]
        n_epochs = self.epochs if epochs is None else int(epochs)
        # Here, or inside tsrnn.parallel.train_on_dask on a cluster, which returns a copy.
        [fitted] = fit_jobs([WindowsJob(self, (X_t, y_t, valid), n_epochs, self.batch_size)])
        self._adopt(fitted)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict the target(s) of each window.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_steps) or (n_samples, n_steps, n_channels)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            float64; 1-D when the model was fitted with 1-D ``y``.
        """
        X_t = self._validate_predict_data(X)
        with torch_threads(self.n_threads):
            out = predict_batches(self.module_, X_t.to(self.device_))
        out = out.cpu().numpy().astype(np.float64)
        return out[:, 0] if self._y_1d else out

    def hidden_states(self, X: np.ndarray) -> np.ndarray:
        """Hidden state of the last recurrent layer at every time step of every window.

        Useful for looking inside a fitted model (see ``notebooks/04_inside_the_rnn.ipynb``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_steps) or (n_samples, n_steps, n_channels)

        Returns
        -------
        ndarray of shape (n_samples, n_steps, hidden_size)
        """
        X_t = self._validate_predict_data(X).to(self.device_)
        self.module_.eval()
        with torch_threads(self.n_threads), torch.inference_mode():
            states = self.module_.hidden_states(X_t)
        return states.cpu().numpy().astype(np.float64)

    # ------------------------------------------------------- interface of the forecaster

    def _fit_steps(
        self,
        sample: BatchSampler,
        *,
        n_steps: int,
        n_channels: int,
        n_outputs: int,
        steps: int,
        sync: Sync | None = None,
        quiet: bool = False,
    ) -> RNNRegressor:
        """Train a new network for ``steps`` gradient steps on batches drawn by ``sample``.

        The forecaster's global training: windows are gathered per batch by the caller
        instead of being passed as one ``X``, targets carry weights (0 past a series' end),
        and the budget is counted in steps. The caller's sampler decides the batch, so
        ``epochs`` and ``batch_size`` do not apply; ``n_iter_`` counts the steps and
        ``history_`` holds a ``{"step", "train_loss", "valid_loss"}`` record every 100 steps.

        Parameters
        ----------
        sample : callable(step) -> (inputs (batch, n_steps, n_channels), targets (batch,
            n_outputs), weights (batch, n_outputs)), tensors on the CPU
        n_steps, n_channels, n_outputs : int
            Shape of the windows and of the targets.
        steps : int
        sync : Sync or None
            One rank of a data-parallel fit (:mod:`tsrnn._dask.rank`): gradients are averaged over
            the ranks at every step.
        quiet : bool, default=False
            No progress bar, whatever ``verbose`` says (ranks > 0, cluster tasks).

        Returns
        -------
        self : RNNRegressor
        """
        fit_steps([self], [sample], n_steps=[n_steps], n_channels=[n_channels],
                  n_outputs=n_outputs, steps=steps, sync=sync, quiet=quiet)  # fmt: skip
        return self

    def _predict_tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        """Outputs for inputs the caller has encoded, unchecked.

        Parameters
        ----------
        inputs : Tensor of shape (n, n_steps, n_channels)

        Returns
        -------
        Tensor of shape (n, n_outputs), on the CPU
        """
        with torch_threads(self.n_threads):
            return predict_batches(self.module_, inputs.to(self.device_)).cpu()

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict:
        """The parameters and :func:`network_state` (CPU tensors), so that a model fitted on
        a GPU (e.g. in a Dask worker) unpickles on a machine without one."""
        state = dict(super().__getstate__())
        if "module_" in state:
            for name in FITTED:
                state.pop(name, None)
            state["_network"] = (str(self.device_), *network_state(self))
        return state

    def __setstate__(self, state: dict) -> None:
        """Rebuild the network on the device it was fitted on if this process has it, else
        on the CPU."""
        state = dict(state)
        network = state.pop("_network", None)
        super().__setstate__(state)
        if network is not None:
            device, fitted, module, optimizer = network
            if device.startswith("cuda") and not torch.cuda.is_available():
                device = "cpu"
            restore_network(self, fitted, module, optimizer, device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.non_deterministic = self.device != "cpu" and torch.cuda.is_available()
        return tags

    # ------------------------------------------------------------------ internals

    def _is_fitted(self) -> bool:
        return hasattr(self, "module_")

    def _reset(self) -> None:
        for name in FITTED:
            self.__dict__.pop(name, None)

    def _adopt(self, fitted: RNNRegressor) -> None:
        """Take the fitted state of ``fitted`` (this model, or its copy trained elsewhere)."""
        for name in FITTED:
            if name in fitted.__dict__:
                setattr(self, name, fitted.__dict__[name])

    def _check_params(self) -> None:
        check_params(self)
        if self.patience is not None and self.validation_fraction is None:
            raise ParameterError(
                f"patience={self.patience} needs a validation set: set validation_fraction "
                "(e.g. 0.1) or leave patience=None."
            )

    def _initialize(self, n_channels: int, n_outputs: int) -> None:
        self.seed_ = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        device = resolve_device(self.device)
        with seeded(self.seed_, device):
            self._build_network(n_channels, n_outputs, device)
        self.n_channels_in_ = n_channels
        self.n_outputs_ = n_outputs
        self.history_ = []
        self.n_iter_ = 0

    def _build_network(self, n_channels: int, n_outputs: int, device: torch.device) -> None:
        """``module_`` (initialised from torch's global generator), ``optimizer_``, ``loss_fn_``."""
        self.device_ = device
        self.module_ = RNNNet(
            n_channels,
            n_outputs,
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            nonlinearity=self.nonlinearity,
            categorical=_categorical(self.categorical, n_channels),
        ).to(device)
        options = {"lr": self.learning_rate, "weight_decay": self.weight_decay}
        self.optimizer_ = OPTIMIZERS[self.optimizer](self.module_.parameters(), **options)
        self.loss_fn_ = LOSSES[self.loss]()

    def _run_epochs(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        valid: tuple[torch.Tensor, torch.Tensor] | None,
        n_epochs: int,
        batch_size: int,
        seed_offset: int = 0,
        sync: Sync | None = None,
        quiet: bool = False,
    ) -> None:
        """Train the built network for ``n_epochs`` epochs (one rank's, with ``sync``)."""
        device = self.device_
        X, y = X.to(device), y.to(device)
        if valid is not None:
            valid = (valid[0].to(device), valid[1].to(device))
        seed = self.seed_ + len(self.history_) + seed_offset
        generator = torch.Generator().manual_seed(seed)
        with (
            torch_threads(self.n_threads),
            seeded(seed, device),
            epoch_bar(n_epochs, 0 if quiet else self.verbose) as on_epoch,
        ):
            try:
                train(
                    self.module_,
                    self.optimizer_,
                    self.loss_fn_,
                    X,
                    y,
                    epochs=n_epochs,
                    batch_size=batch_size,
                    generator=generator,
                    clip_grad_norm=self.clip_grad_norm,
                    valid=valid,
                    patience=self.patience,
                    history=self.history_,
                    on_epoch=on_epoch,
                    sync=sync,
                )
            finally:  # kept even when training diverges
                self.n_iter_ = len(self.history_)

    def _move_to(self, device: torch.device) -> None:
        """Move the network and its optimizer state to ``device``."""
        if device == self.device_:
            return
        self.module_.to(device)
        # Loading its own state moves the optimizer's tensors to the parameters' device, and
        # keeps on the CPU what must stay there (Adam's step counts).
        self.optimizer_.load_state_dict(self.optimizer_.state_dict())
        self.device_ = device

    def _validate_fit_data(
        self, X: np.ndarray, y: np.ndarray, reset: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            X, y = validate_data(
                self,
                X,
                y,
                reset=reset,
                dtype=np.float32,
                allow_nd=True,
                multi_output=True,
                y_numeric=True,
            )
        except ValueError as exc:
            raise DataError(_explain(exc)) from exc
        if X.ndim > 3:
            raise DataError(
                f"X has {X.ndim} dimensions; expected (n_samples, n_steps) or "
                "(n_samples, n_steps, n_channels)."
            )
        X = X if X.ndim == 3 else X[:, :, None]
        if not reset and X.shape[2] != self.n_channels_in_:
            raise DataError(
                f"X has {X.shape[2]} channels per step, but RNNRegressor was fitted with "
                f"{self.n_channels_in_}: pass windows with the same columns as in fit."
            )
        y = np.require(y, np.float32, ["C", "W"])  # torch wants writable memory
        if reset:
            self._y_1d = y.ndim == 1
        y = y.reshape(len(y), -1)
        if not reset and y.shape[1] != self.n_outputs_:
            raise DataError(
                f"y has {y.shape[1]} outputs per row, but RNNRegressor was fitted with "
                f"{self.n_outputs_}."
            )
        return torch.from_numpy(np.require(X, np.float32, ["C", "W"])), torch.from_numpy(y)

    def _validate_predict_data(self, X: np.ndarray) -> torch.Tensor:
        if not self._is_fitted():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet: call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        try:
            X = validate_data(self, X, reset=False, dtype=np.float32, allow_nd=True)
        except ValueError as exc:
            raise DataError(_explain(exc)) from exc
        X = X if X.ndim == 3 else X[:, :, None]
        if X.ndim != 3 or X.shape[2] != self.n_channels_in_:
            raise DataError(
                f"X has shape {X.shape}, but RNNRegressor was fitted with "
                f"{self.n_channels_in_} channels per step."
            )
        return torch.from_numpy(np.require(X, np.float32, ["C", "W"]))


def fit_steps(
    models: list[RNNRegressor],
    samples: list[BatchSampler],
    *,
    n_steps: list[int],
    n_channels: list[int],
    n_outputs: int,
    steps: int,
    weights: list[float] | None = None,
    sync: Sync | None = None,
    quiet: bool = False,
) -> list[RNNRegressor]:
    """Train new networks for ``steps`` gradient steps each, in lockstep (one gradient exchange
    a step for all of them with ``sync``); the case of one is :meth:`RNNRegressor._fit_steps`.

    Parameters
    ----------
    models : list of RNNRegressor
        Unfitted (or to be refitted) regressors, one per network; each is built from its own
        parameters (``random_state``: its initial weights).
    samples : list of callable(step) -> (inputs, targets, weights)
        The batch sampler of each.
    n_steps, n_channels : list of int
        Shape of each network's windows.
    n_outputs : int
    steps : int
    weights : list of float or None
        Factor of each network's loss (a rank's share of the series); None: 1.
    sync : Sync or None
    quiet : bool, default=False

    Returns
    -------
    list of RNNRegressor
        ``models``, fitted.
    """
    members = []
    for k, (model, sample) in enumerate(zip(models, samples, strict=True)):
        model._check_params()
        model._reset()
        model._initialize(n_channels=n_channels[k], n_outputs=n_outputs)
        model.n_features_in_ = int(n_steps[k])
        model._y_1d = False
        if model.device_.type != "cpu":
            sample = _on_device(sample, model.device_)
        members.append(Member(model.module_, model.optimizer_, sample, model.history_,
                              1.0 if weights is None else float(weights[k])))  # fmt: skip
    first = models[0]
    with (
        torch_threads(first.n_threads),
        seeded(first.seed_, first.device_),
        step_bar(steps, 0 if quiet else first.verbose) as on_step,
    ):
        try:
            train_members(members, first.loss, steps=steps, clip_grad_norm=first.clip_grad_norm,
                          on_step=on_step, sync=sync)  # fmt: skip
        finally:
            for model in models:
                model.n_iter_ = steps
    return models


def _on_device(sample: BatchSampler, device: torch.device) -> BatchSampler:
    def on_device(step: int):
        return tuple(t.to(device) for t in sample(step))

    return on_device


@dataclasses.dataclass
class WindowsJob:
    """Epochs of :class:`RNNRegressor` over windows ``X`` and targets ``y``: a job of
    :func:`tsrnn._train.executor.fit_jobs`.

    ``model`` is the regressor with its network built (fresh or warm); ``data`` holds
    ``(X, y, valid)`` as CPU tensors, ``valid`` being the time-ordered tail or None.
    """

    model: RNNRegressor
    data: tuple
    epochs: int
    batch: int

    @property
    def size(self) -> int:
        return len(self.data[0])

    @property
    def device(self) -> str:
        return self.model.device

    def shard(self, rank: int, world: int) -> WindowsJob:
        """Rows ``rank, rank + world, ...``, as many on every rank (a few repeat), so that all
        ranks run the same number of batches per epoch; the batch split between them."""
        X, y, valid = self.data
        per = math.ceil(len(X) / world)
        rows = (rank + world * torch.arange(per)) % len(X)
        return dataclasses.replace(
            self, data=(X[rows], y[rows], valid), batch=math.ceil(self.batch / world)
        )

    def fit(self, sync: Sync | None = None, rank: int = 0, quiet: bool = False) -> RNNRegressor:
        model = self.model
        model._move_to(resolve_device(self.device))
        X, y, valid = self.data
        model._run_epochs(
            X, y, valid, self.epochs, self.batch, seed_offset=rank, sync=sync,
            quiet=bool(rank or quiet),
        )  # fmt: skip
        return model


# ---------------------------------------------------------------------- the codec


def network_state(
    model: RNNRegressor,
) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]:
    """What a fitted regressor learned, for pickling and for model files (:mod:`tsrnn.persist`).

    Parameters
    ----------
    model : RNNRegressor
        A fitted regressor.

    Returns
    -------
    fitted : dict
        The plain fitted attributes (JSON-able): ``n_features_in_``, ``n_channels_in_``,
        ``n_outputs_``, ``n_iter_``, ``seed_``, ``history_``, ``y_1d`` and, when ``fit``
        saw column names, ``feature_names_in_``.
    module : dict of str to Tensor
        The network's ``state_dict``, on the CPU.
    optimizer : dict
        The optimizer's ``state_dict``, its tensors on the CPU.
    """
    fitted: dict[str, Any] = {
        "n_features_in_": int(model.n_features_in_),
        "n_channels_in_": int(model.n_channels_in_),
        "n_outputs_": int(model.n_outputs_),
        "n_iter_": int(model.n_iter_),
        "seed_": int(model.seed_),
        "history_": list(model.history_),
        "y_1d": bool(model._y_1d),
    }
    if hasattr(model, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(c) for c in model.feature_names_in_]
    module = {k: v.detach().cpu() for k, v in model.module_.state_dict().items()}
    optimizer = model.optimizer_.state_dict()
    optimizer["state"] = {
        index: {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in slot.items()}
        for index, slot in optimizer["state"].items()
    }
    return fitted, module, optimizer


def restore_network(
    model: RNNRegressor,
    fitted: dict[str, Any],
    module: dict[str, torch.Tensor],
    optimizer: dict[str, Any],
    device: str | torch.device,
) -> RNNRegressor:
    """Give an unfitted regressor (built from the saved parameters) its fitted state.

    Parameters
    ----------
    model : RNNRegressor
    fitted, module, optimizer
        As returned by :func:`network_state`.
    device : str or torch.device
        Where to build the network; must be available in this process.

    Returns
    -------
    RNNRegressor
        ``model``, fitted.
    """
    device = resolve_device(str(device))
    with seeded(int(fitted["seed_"]), device):  # the initial weights, overwritten: no side effect
        model._build_network(int(fitted["n_channels_in_"]), int(fitted["n_outputs_"]), device)
    model.module_.load_state_dict(module, strict=True)
    model.optimizer_.load_state_dict(optimizer)
    for name in ("n_features_in_", "n_channels_in_", "n_outputs_", "n_iter_", "seed_"):
        setattr(model, name, int(fitted[name]))
    model.history_ = list(fitted["history_"])
    model._y_1d = bool(fitted["y_1d"])
    if "feature_names_in_" in fitted:
        model.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    return model


def _categorical(spec, n_channels: int) -> list[tuple[list[int], int]]:
    """``categorical`` checked against the input width: a list of ``(channels, n)``."""
    entries = []
    for entry in spec or ():
        try:
            channels, n = entry
            channels, n = [int(c) for c in channels], int(n)
        except (TypeError, ValueError):
            raise ValueError(
                f"categorical entries must be (channels, n_categories) pairs, e.g. ([3], 12); "
                f"got {entry!r}."
            ) from None
        if n < 1 or not channels or not all(0 <= c < n_channels for c in channels):
            raise ValueError(
                f"categorical entry {entry!r} does not fit windows of {n_channels} channels: "
                "give channel indices below that and at least 1 category."
            )
        entries.append((channels, n))
    return entries


def _explain(exc: ValueError) -> str:
    """Add the fix to sklearn's data messages where it is not obvious."""
    message = str(exc)
    if "NaN" in message or "infinity" in message:
        message += (
            " RNNRegressor needs finite inputs and targets (no NaN or inf): fill or drop the "
            "missing values first, e.g. with pandas' interpolate() or dropna()."
        )
    return message
