"""Searching a forecaster: folds at backtest origins, scored like :func:`tsrnn.backtest`."""

from __future__ import annotations

from typing import Any

from ..errors import check_positive_int

__all__ = ["METRICS", "BacktestScorer", "RollingOrigin"]

#: Backtest metrics a forecaster search can rank by (negated: greater is better).
METRICS = ("mae", "rmse", "smape", "mase")


class RollingOrigin:
    """Folds of a forecaster search: fit before each backtest origin, score the next ``horizon``.

    Fold ``k`` of ``n_origins`` drops the last ``horizon + (n_origins - 1 - k) * step`` points
    of every series, fits the forecaster on the rest and compares its forecast of the next
    ``horizon`` points with the truth, as :func:`tsrnn.backtest` does at one origin.

    Parameters
    ----------
    horizon : int
        Steps forecast at each origin.
    n_origins : int, default=3
        Number of origins (folds).
    step : int or None, default=None
        Steps between origins; ``None`` means ``horizon``.
    season_length : int or None, default=None
        Seasonal period of MASE; ``None`` infers it from the frequency.

    Examples
    --------
    >>> RollingOrigin(horizon=12, n_origins=3).cuts()
    [24, 12, 0]
    """

    def __init__(
        self,
        horizon: int,
        n_origins: int = 3,
        step: int | None = None,
        season_length: int | None = None,
    ) -> None:
        self.horizon = horizon
        self.n_origins = n_origins
        self.step = step
        self.season_length = season_length

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds (origins)."""
        return self.n_origins

    def cuts(self) -> list[int]:
        """Points dropped from the end of every series before each fold's backtest."""
        for name in ("horizon", "n_origins"):
            check_positive_int(getattr(self, name), f"RollingOrigin's {name}")
        step = self.horizon if self.step is None else self.step
        return [(self.n_origins - 1 - k) * step for k in range(self.n_origins)]

    def __repr__(self) -> str:
        return (
            f"RollingOrigin(horizon={self.horizon}, n_origins={self.n_origins}, "
            f"step={self.step}, season_length={self.season_length})"
        )


class BacktestScorer:
    """Score a forecaster at the last origin of a series: minus the backtest metric."""

    def __init__(self, metric: str, horizon: int, season_length: int | None) -> None:
        self.metric, self.horizon, self.season_length = metric, horizon, season_length

    def __call__(self, forecaster: Any, series: Any, exog: Any) -> tuple[float, float]:
        from ..evaluation import backtest

        table = backtest(
            forecaster,
            series,
            self.horizon,
            n_origins=1,
            X=exog,
            season_length=self.season_length,
        )
        return -float(table.loc[1, self.metric]), float(table.loc[1, "fit_seconds"])

    def __repr__(self) -> str:
        return f"BacktestScorer({self.metric!r}, {self.horizon}, {self.season_length})"
