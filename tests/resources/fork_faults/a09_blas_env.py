# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Sets OPENBLAS_NUM_THREADS before it imports numpy
#     level: beginner
#     minutes: 5
# ---

# %%
import json
import os
import sys
from pathlib import Path

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # read when numpy is imported: not preloaded
numpy_before = "numpy" in sys.modules

# %%
import numpy as np

tasks = set(os.listdir("/proc/self/task"))  # the threads before, by id
a = np.random.default_rng(1).random((400, 400)) + 400 * np.eye(400)
inverse_ok = bool(np.allclose(a @ np.linalg.inv(a), np.eye(400)))
facts = {
    "numpy_before": numpy_before,
    "blas_threads_started": len(set(os.listdir("/proc/self/task")) - tasks),
    "inverse_ok": inverse_ok,
}
Path(os.environ["WK_FACTS"]).with_suffix(".blas").write_text(json.dumps(facts), encoding="utf-8")
