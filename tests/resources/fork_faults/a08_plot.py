# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Plots inline
#     level: beginner
#     minutes: 5
# ---

# %%
import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

backend = matplotlib.get_backend()
Path(os.environ["WK_FACTS"]).with_suffix(".backend").write_text(backend, encoding="utf-8")
plt.plot([1, 2, 3])
plt.show()
