# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Facts at the end
#     level: beginner
#     minutes: 5
# ---

# %%
import sys

numpy_before = "numpy" in sys.modules  # pre-imported by the fork server: the lesson imports it

# %%
import json
import os
import random
from pathlib import Path

import numpy as np

tasks = set(os.listdir("/proc/self/task"))  # the threads before, by id
a = np.random.default_rng(1).random((400, 400)) + 400 * np.eye(400)
inverse_ok = bool(np.allclose(a @ np.linalg.inv(a), np.eye(400)))

# %%
facts = {
    "pid": os.getpid(),
    "ppid": os.getppid(),
    "pgid": os.getpgid(0),
    "sid": os.getsid(0),
    "random": random.random(),
    "numpy": float(np.random.random()),
    "cwd": os.getcwd(),
    "cwd_in_path": "" in sys.path,
    "argv0": sys.argv[0],
    "parent_env": os.environ.get("JPY_PARENT_PID"),
    "hash": hash("workshopkit"),
    "leak_env": os.environ.get("WK_LEAK"),
    "leak_path": "/wk-leak" in sys.path,
    "leak_attr": hasattr(json, "wk_leak"),
    "stdio": [os.readlink(f"/proc/self/fd/{fd}") for fd in (0, 1, 2)],
    "backend": sys.modules.get("matplotlib") is not None,
    "tag": os.environ.get("WORKSHOPKIT_KERNEL"),
    "numpy_before": numpy_before,
    "numpy_rng": float(np.random.default_rng().random()),
    "leak_numpy_attr": hasattr(np, "wk_leak"),
    "printoptions": np.get_printoptions()["precision"],
    "blas": np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"],
    "blas_threads_started": len(set(os.listdir("/proc/self/task")) - tasks),
    "inverse_ok": inverse_ok,
}
with Path(os.environ["WK_FACTS"]).open("a", encoding="utf-8") as fh:
    fh.write(json.dumps(facts) + "\n")
