"""``RNNRegressor``: a scikit-learn regressor over a PyTorch RNN, LSTM or GRU.

Its epochs are a job of the executor (:class:`WindowsJob`); its fitted state travels by the
codec of :mod:`tsrnn._train.codec`, for pickling and model files alike.
"""

from __future__ import annotations

import dataclasses
import math
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ._train.checkpoint import Checkpoint
from ._train.codec import FITTED, network_state, restore_network
from ._train.device import resolve_device, seeded, torch_threads
from ._train.executor import fit_jobs
from ._train.loop import (
    LOSSES,
    OPTIMIZERS,
    Sync,
    predict_batches,
    train,
)
from ._train.progress import epoch_bar
from .errors import DataError, NotFittedError, ParameterError, check_params
from .nn import CELLS, RNNNet, check_categorical

__all__ = ["RNNRegressor", "WindowsJob"]


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
    interface, and through nothing else: :meth:`_start_steps` builds a new network to be
    trained on batches the forecaster draws itself
    (:func:`tsrnn._forecast.steps.fit_steps`), and :meth:`_predict_tensor` runs it on inputs
    it has encoded.
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

    def _start_steps(self, *, n_steps: int, n_channels: int, n_outputs: int) -> None:
        """Check the parameters and build a new network of ``n_channels`` inputs per step and
        ``n_outputs`` outputs, for windows of ``n_steps`` steps, to be trained by
        :func:`tsrnn._forecast.steps.fit_steps`."""
        self._check_params()
        self._reset()
        self._initialize(n_channels=n_channels, n_outputs=n_outputs)
        self.n_features_in_ = int(n_steps)
        self._y_1d = False

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
            categorical=check_categorical(self.categorical, n_channels),
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
        resume: Checkpoint | None = None,
    ) -> None:
        """Train the built network for ``n_epochs`` epochs (one rank's, with ``sync``; the
        epochs after ``resume``'s, for a data-parallel fit that lost a rank).

        The shuffling and dropout are seeded by the epochs already trained, so a fit resumed
        at an epoch draws as a fit started there does."""
        device = self.device_
        X, y = X.to(device), y.to(device)
        if valid is not None:
            valid = (valid[0].to(device), valid[1].to(device))
        done = len(self.history_) if resume is None else resume.step
        seed = self.seed_ + done + seed_offset
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
                    resume=resume,
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

    def fit(
        self,
        sync: Sync | None = None,
        rank: int = 0,
        quiet: bool = False,
        resume: Checkpoint | None = None,
    ) -> RNNRegressor:
        model = self.model
        model._move_to(resolve_device(self.device))
        X, y, valid = self.data
        model._run_epochs(
            X,
            y,
            valid,
            self.epochs,
            self.batch,
            seed_offset=rank,
            sync=sync,
            quiet=bool(rank or quiet),
            resume=resume,
        )
        return model


def _explain(exc: ValueError) -> str:
    """Add the fix to sklearn's data messages where it is not obvious."""
    message = str(exc)
    if "NaN" in message or "infinity" in message:
        message += (
            " RNNRegressor needs finite inputs and targets (no NaN or inf): fill or drop the "
            "missing values first, e.g. with pandas' interpolate() or dropna()."
        )
    return message
