"""The training layer: torch, never pandas or Dask.

``loop`` (backpropagation through time over epochs or a budget of steps), ``checkpoint``
(the state a data-parallel fit resumes from after a lost rank), ``device`` (devices,
threads, seeds), ``executor`` (network fits as jobs, run here or by the trainer of the
context), ``progress`` (progress bars, and the log records of finished stages).
"""
