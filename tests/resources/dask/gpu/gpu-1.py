# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: gpu-1
#     title: Needs a GPU 1
#     level: beginner
#     minutes: 5
#     resources: {gpu: true}
# ---

# %%
import os
from pathlib import Path

import psutil

worker = psutil.Process(os.getppid()).ppid()  # kernel -> launcher -> Dask worker
Path(os.environ["WK_PIDS"], "gpu-1").write_text(f"{os.getpid()} {worker}")
