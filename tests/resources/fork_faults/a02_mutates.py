# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Changes os.environ, sys.path and a module
#     level: beginner
#     minutes: 5
# ---

# %%
import json
import os
import random
import sys

import numpy as np

os.environ["WK_LEAK"] = "1"
sys.path.insert(0, "/wk-leak")
json.wk_leak = True
random.seed(0)
np.random.seed(0)
np.wk_leak = True
np.set_printoptions(precision=2)
