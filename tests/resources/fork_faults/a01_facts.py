# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Facts about its own kernel
#     level: beginner
#     minutes: 5
# ---

# %%
import json
import os
import random
import sys
from pathlib import Path

import numpy as np

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
}
with Path(os.environ["WK_FACTS"]).open("a", encoding="utf-8") as fh:
    fh.write(json.dumps(facts) + "\n")
