# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: gpu-3
#     title: Needs a GPU 3
#     level: beginner
#     minutes: 5
#     resources: {gpu: true}
# ---

# %%
import os
from pathlib import Path

import psutil

worker = psutil.Process(os.getppid()).ppid()  # kernel -> launcher -> Dask worker
Path(os.environ["WK_PIDS"], "gpu-3").write_text(f"{os.getpid()} {worker}")
