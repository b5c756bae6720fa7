# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: long-2
#     title: Runs long the first time
#     level: beginner
#     minutes: 5
# ---

# %%
import os
import time
from pathlib import Path

import psutil

out = Path(os.environ["WK_PIDS"])
worker = psutil.Process(os.getppid()).ppid()  # kernel -> launcher -> Dask worker
(out / "long-2.pid").write_text(f"{os.getpid()} {worker}")
again = out / "long-2.again"
if not again.exists():
    again.touch()
    time.sleep(120)
